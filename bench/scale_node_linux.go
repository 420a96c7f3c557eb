package bench

import "syscall"

// childAttr makes a process the run starts die with the run, however the
// run ends, and puts it in its own process group, so that an interrupt
// typed at the terminal reaches the run alone, which decides what its
// node and backups do about it.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
