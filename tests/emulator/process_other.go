//go:build unix && !linux

package emulator

import "syscall"

func setParentDeathSignal(*syscall.SysProcAttr) {}

// descendantsOf is not known here: only the process group is killed.
func descendantsOf(int) []int { return nil }

// holdsListener cannot tell here.
func holdsListener(int, string) (holds, known bool) { return false, false }
