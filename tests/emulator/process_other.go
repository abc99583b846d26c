//go:build unix && !linux

package emulator

import "syscall"

func setParentDeathSignal(*syscall.SysProcAttr) {}

// descendantsOf is not known here: only the process group is killed.
func descendantsOf(int) []int { return nil }
