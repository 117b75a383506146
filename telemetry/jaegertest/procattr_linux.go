package jaegertest

import "syscall"

// procAttr makes the kernel kill Jaeger if the test binary dies without
// running its cleanups (a panic, a timeout, ^C), so no Jaeger outlives it.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
