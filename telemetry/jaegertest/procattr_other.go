//go:build !linux

package jaegertest

import "syscall"

// procAttr has nothing to add where the kernel cannot tie Jaeger's life to
// the test binary's; t.Cleanup still stops it.
func procAttr() *syscall.SysProcAttr { return nil }
