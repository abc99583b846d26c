//go:build !unix

package emulator

import "os/exec"

func setProcessGroup(*exec.Cmd) {}

func killProcessGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}

// holdsListener cannot tell here.
func holdsListener(int, string) (holds, known bool) { return false, false }
