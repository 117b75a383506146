package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"unsafe"
)

// runRelay is a byte-for-byte TCP relay with no protocol work at all: each
// client connection gets its own upstream connection and bytes are copied
// both ways. It measures the ceiling of a proxy's I/O model on this
// machine, to run beside pgwarp and PgBouncer under peers.sh
// (--proxy-cmd): whatever pgwarp does per message comes on top of what its
// model costs.
//
//   - --model goroutines: two goroutines per client (io.Copy each way) on
//     Go's netpoller, the model of pgwarp and of most Go proxies.
//   - --model rawread: the goroutines model, but each direction reads
//     through syscall.RawConn in one long-lived Read whose callback does
//     not try a read after a short one: it waits for the next readiness
//     instead, saving the read that net.Conn.Read makes only to learn
//     EAGAIN.
//   - --model rawsys: rawread with reads and writes made as raw system
//     calls, so that the scheduler never hands the goroutine's P to
//     another thread while a socket call runs.
//   - --model epoll: one OS thread running an epoll loop over non-blocking
//     sockets, the model of PgBouncer (libevent), with epoll_wait called
//     without the runtime's system-call bookkeeping so that the thread
//     keeps its P while it waits.
//
// It is a measuring instrument: no TLS, no limits, Linux only.
func runRelay(args []string) error {
	fs := flag.NewFlagSet("relay", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:7432", "loopback address to accept clients on")
	upstream := fs.String("upstream", "127.0.0.1:5432", "upstream host:port, or a postgres:// URL (its host and port are used)")
	model := fs.String("model", "goroutines", "goroutines, rawread, rawsys or epoll")
	_ = fs.Parse(args)
	up, err := upstreamAddr(*upstream)
	if err != nil {
		return err
	}
	if err := loopbackOnly(*listen); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
		os.Exit(0)
	}()
	switch *model {
	case "goroutines":
		return relayGoroutines(ln, up, io.Copy)
	case "rawread":
		return relayGoroutines(ln, up, copyRaw)
	case "rawsys":
		return relayGoroutines(ln, up, copyRawSys)
	case "epoll":
		return relayEpoll(ln.(*net.TCPListener), up)
	}
	return fmt.Errorf("--model %q: want goroutines, rawread, rawsys or epoll", *model)
}

// upstreamAddr returns host:port of a host:port or of a postgres:// URL
// (what peers.sh substitutes for {UPSTREAM_URL}).
func upstreamAddr(s string) (*net.TCPAddr, error) {
	if u, ok := strings.CutPrefix(s, "postgres://"); ok {
		_, u, _ = strings.Cut(u, "@")
		u, _, _ = strings.Cut(u, "/")
		s = u
	}
	return net.ResolveTCPAddr("tcp4", s)
}

func relayGoroutines(ln net.Listener, up *net.TCPAddr, copyFn func(dst io.Writer, src io.Reader) (int64, error)) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer c.Close()
			b, err := net.DialTCP("tcp", nil, up)
			if err != nil {
				return
			}
			defer b.Close()
			done := make(chan struct{})
			go func() {
				_, _ = copyFn(b, c)
				_ = b.CloseWrite()
				close(done)
			}()
			_, _ = copyFn(c, b)
			_ = c.Close()
			<-done
		}()
	}
}

// copyRaw copies src to dst like io.Copy, reading in one RawConn.Read whose
// callback never reads twice in a row after a short read: a read that
// returned less than the buffer drained the socket, so the next read waits
// for the poller. Readiness that arrives while the callback runs is kept by
// the poller (the Read is never left, so nothing resets it).
func copyRaw(dst io.Writer, src io.Reader) (int64, error) {
	return copyRawConn(dst, src, false)
}

// copyRawSys is copyRaw with its reads and writes made as raw system calls,
// which do not tell the scheduler: the goroutine keeps its P, so the
// runtime's monitor never hands the P to another thread during a write (a
// non-blocking socket call returns at once, EAGAIN at worst).
func copyRawSys(dst io.Writer, src io.Reader) (int64, error) {
	return copyRawConn(dst, src, true)
}

func copyRawConn(dst io.Writer, src io.Reader, rawSys bool) (int64, error) {
	rc, err := src.(syscall.Conn).SyscallConn()
	if err != nil {
		return 0, err
	}
	wc, err := dst.(syscall.Conn).SyscallConn()
	if err != nil {
		return 0, err
	}
	sys := func(trap, fd uintptr, b []byte) (int, syscall.Errno) {
		if rawSys {
			n, _, e := syscall.RawSyscall(trap, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
			return int(n), e
		}
		n, _, e := syscall.Syscall(trap, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		return int(n), e
	}
	write := func(b []byte) error {
		var werr error
		err := wc.Write(func(fd uintptr) bool {
			for len(b) > 0 {
				n, e := sys(syscall.SYS_WRITE, fd, b)
				switch e {
				case 0:
					b = b[n:]
				case syscall.EAGAIN:
					return false
				case syscall.EINTR:
				default:
					werr = e
					return true
				}
			}
			return true
		})
		if werr != nil {
			return werr
		}
		return err
	}
	buf := make([]byte, 32<<10)
	var total int64
	var cerr error
	err = rc.Read(func(fd uintptr) bool {
		for {
			n, e := sys(syscall.SYS_READ, fd, buf)
			switch {
			case e == syscall.EAGAIN:
				return false
			case e == syscall.EINTR:
				continue
			case e != 0:
				cerr = e
				return true
			case n == 0:
				return true
			}
			total += int64(n)
			if cerr = write(buf[:n]); cerr != nil {
				return true
			}
			if n < len(buf) {
				return false
			}
		}
	})
	if cerr == nil {
		cerr = err
	}
	return total, cerr
}

// epollSide is one socket of a relayed pair and the bytes read from its
// peer that it could not take yet.
type epollSide struct {
	fd      int
	peer    *epollSide
	pending []byte
}

func relayEpoll(ln *net.TCPListener, up *net.TCPAddr) error {
	runtime.LockOSThread()
	lf, err := ln.File() // a blocking duplicate; made non-blocking below
	if err != nil {
		return err
	}
	lfd := int(lf.Fd())
	if err := syscall.SetNonblock(lfd, true); err != nil {
		return err
	}
	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	if err := syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, lfd, &syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(lfd)}); err != nil {
		return err
	}
	sa := &syscall.SockaddrInet4{Port: up.Port}
	copy(sa.Addr[:], up.IP.To4())
	sides := map[int]*epollSide{}
	closePair := func(s *epollSide) {
		for _, x := range []*epollSide{s, s.peer} {
			_ = syscall.Close(x.fd) // closing removes it from the epoll set
			delete(sides, x.fd)
		}
	}
	// watch sets the events of s: reads unless its peer has a backlog
	// (back-pressure), writes while it has one.
	watch := func(s *epollSide) error {
		var ev uint32
		if len(s.peer.pending) == 0 {
			ev |= syscall.EPOLLIN
		}
		if len(s.pending) > 0 {
			ev |= syscall.EPOLLOUT
		}
		return syscall.EpollCtl(ep, syscall.EPOLL_CTL_MOD, s.fd, &syscall.EpollEvent{Events: ev, Fd: int32(s.fd)})
	}
	buf := make([]byte, 64<<10)
	events := make([]syscall.EpollEvent, 256)
	for {
		// 50 ms bounds the wait so that a stop-the-world pause, which
		// cannot preempt a raw system call, waits at most that long.
		n, err := epollWaitRaw(ep, events, 50)
		if err != nil {
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			return err
		}
		for i := 0; i < n; i++ {
			fd := int(events[i].Fd)
			if fd == lfd {
				for {
					cfd, _, err := syscall.Accept4(lfd, syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
					if err != nil {
						break
					}
					bfd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
					if err != nil {
						_ = syscall.Close(cfd)
						continue
					}
					// A blocking connect on loopback is immediate.
					if err := syscall.Connect(bfd, sa); err != nil || syscall.SetNonblock(bfd, true) != nil {
						_ = syscall.Close(cfd)
						_ = syscall.Close(bfd)
						continue
					}
					_ = syscall.SetsockoptInt(bfd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
					_ = syscall.SetsockoptInt(cfd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
					c, b := &epollSide{fd: cfd}, &epollSide{fd: bfd}
					c.peer, b.peer = b, c
					sides[cfd], sides[bfd] = c, b
					_ = syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, cfd, &syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(cfd)})
					_ = syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, bfd, &syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(bfd)})
				}
				continue
			}
			s := sides[fd]
			if s == nil {
				continue // closed earlier in this batch
			}
			ev := events[i].Events
			if ev&syscall.EPOLLOUT != 0 && len(s.pending) > 0 {
				w, err := syscall.Write(s.fd, s.pending)
				if err != nil && !errors.Is(err, syscall.EAGAIN) {
					closePair(s)
					continue
				}
				if w > 0 {
					s.pending = s.pending[w:]
				}
				if len(s.pending) == 0 {
					s.pending = nil
					if watch(s) != nil || watch(s.peer) != nil {
						closePair(s)
						continue
					}
				}
			}
			if ev&(syscall.EPOLLIN|syscall.EPOLLHUP|syscall.EPOLLERR) == 0 || len(s.peer.pending) > 0 {
				continue
			}
			r, err := syscall.Read(s.fd, buf)
			if errors.Is(err, syscall.EAGAIN) {
				continue
			}
			if r <= 0 {
				closePair(s)
				continue
			}
			w, err := syscall.Write(s.peer.fd, buf[:r])
			if err != nil && !errors.Is(err, syscall.EAGAIN) {
				closePair(s)
				continue
			}
			if w < 0 {
				w = 0
			}
			if w < r {
				s.peer.pending = append([]byte(nil), buf[w:r]...)
				if watch(s) != nil || watch(s.peer) != nil {
					closePair(s)
				}
			}
		}
	}
}

// epollWaitRaw is epoll_wait without entersyscall/exitsyscall: the thread
// keeps its P while it blocks, as an event loop in C keeps its thread.
func epollWaitRaw(ep int, events []syscall.EpollEvent, msec int) (int, error) {
	r, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, uintptr(ep), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), uintptr(msec), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}
