package bench

import "syscall"

// childAttr makes the node die with the run, however the run ends.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
