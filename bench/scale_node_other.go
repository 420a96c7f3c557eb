//go:build !linux

package bench

import "syscall"

// childAttr: only Linux can tie the node's life to the run's.
func childAttr() *syscall.SysProcAttr { return nil }
