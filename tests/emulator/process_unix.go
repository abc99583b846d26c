//go:build unix

package emulator

import (
	"os/exec"
	"syscall"
)

// setProcessGroup puts the child in a process group of its own, so that
// killProcessGroup also reaches what it starts.
func setProcessGroup(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	setParentDeathSignal(cmd.SysProcAttr)
}

// killProcessGroup kills the child, its process group, and the descendants
// that left the group: the RIE starts the function in a process group of its
// own.
func killProcessGroup(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	pid := cmd.Process.Pid
	// Listed before anything dies: an orphan's parent is no longer the RIE.
	descendants := descendantsOf(pid)
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	_ = cmd.Process.Kill()
	for _, d := range descendants {
		_ = syscall.Kill(d, syscall.SIGKILL)
	}
}
