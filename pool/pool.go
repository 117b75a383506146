package pool

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/puddle/v2"
)

// Config configures a [Pool]. Every zero value is usable.
type Config struct {
	// Name identifies the pool in errors and statistics, as
	// "database/user".
	Name string

	// Dial opens a new backend. It is required. Its context carries no
	// deadline: Dial bounds itself (see [DialConfig.Timeout]).
	Dial func(ctx context.Context) (*Backend, error)

	// MaxSize is the most backends the pool keeps. Zero means 20.
	MaxSize int

	// MinIdle is how many idle backends the pool keeps ready. Zero means
	// none are opened ahead of demand.
	MinIdle int

	// AcquireTimeout bounds how long Acquire waits for a backend. Zero
	// means 5s.
	AcquireTimeout time.Duration

	// IdleTimeout closes backends idle for longer (down to MinIdle). Zero
	// means idle backends are kept.
	IdleTimeout time.Duration

	// MaxLifetime closes backends older than this when they next become
	// idle. Zero means no limit.
	MaxLifetime time.Duration

	// HealthCheckPeriod is how often idle backends are checked for a
	// closed or broken connection; a backend idle for longer than
	// CheckAfterIdle is also checked when it is handed out. Zero means
	// 30s.
	HealthCheckPeriod time.Duration

	// CheckAfterIdle is the idle time after which Acquire checks that a
	// backend is still alive before handing it out. Zero means 1s.
	CheckAfterIdle time.Duration

	// MaxBackoff caps the wait between dial attempts while the upstream is
	// failing. Zero means 2s.
	MaxBackoff time.Duration

	// PausedWaitTimeout bounds how long Acquire waits while the pool is
	// paused (see [Pool.Pause]). Zero means 2 minutes, PgBouncer's
	// query_wait_timeout.
	PausedWaitTimeout time.Duration
}

func (c *Config) setDefaults() {
	if c.MaxSize <= 0 {
		c.MaxSize = 20
	}
	if c.AcquireTimeout <= 0 {
		c.AcquireTimeout = 5 * time.Second
	}
	if c.HealthCheckPeriod <= 0 {
		c.HealthCheckPeriod = 30 * time.Second
	}
	if c.CheckAfterIdle <= 0 {
		c.CheckAfterIdle = time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 2 * time.Second
	}
	if c.PausedWaitTimeout <= 0 {
		c.PausedWaitTimeout = 2 * time.Minute
	}
	if c.MinIdle > c.MaxSize {
		c.MinIdle = c.MaxSize
	}
}

// ErrClosed is returned by Acquire after Close.
var ErrClosed = errors.New("pool is closed")

// AcquireTimeoutError is returned when no backend became free within the
// acquire timeout.
type AcquireTimeoutError struct {
	Pool   string
	Waited time.Duration
	Size   int
	Paused bool // the pool was paused the whole time
}

func (e *AcquireTimeoutError) Error() string {
	if e.Paused {
		return fmt.Sprintf("pool %q stayed paused (PAUSE on the admin console) for %s", e.Pool, e.Waited.Round(time.Millisecond))
	}
	return fmt.Sprintf("no upstream connection of pool %q became free within %s (all %d in use)", e.Pool, e.Waited.Round(time.Millisecond), e.Size)
}

// Pool is a bounded pool of backends to one upstream database as one user.
// It is safe for concurrent use.
type Pool struct {
	cfg     Config
	p       *puddle.Pool[*Backend]
	offered chan *Backend

	waiting         atomic.Int64
	acquireTimeouts atomic.Int64
	dialErrors      atomic.Int64
	destroyed       atomic.Int64

	// Dial backoff while the upstream fails.
	dialMu      sync.Mutex
	failing     bool
	lastDialErr error
	nextAttempt time.Time
	backoff     time.Duration
	attempting  bool

	pauseMu sync.Mutex
	paused  chan struct{} // non-nil while paused; closed on resume

	stop chan struct{}
	done chan struct{}
}

// New returns a pool and starts its janitor (idle timeout, lifetime, health
// checks, MinIdle). Close stops it.
func New(cfg Config) (*Pool, error) {
	if cfg.Dial == nil {
		return nil, errors.New("pool.Config.Dial is required")
	}
	cfg.setDefaults()
	p := &Pool{cfg: cfg, offered: make(chan *Backend, cfg.MaxSize), stop: make(chan struct{}), done: make(chan struct{})}
	pp, err := puddle.NewPool(&puddle.Config[*Backend]{
		Constructor: p.construct,
		Destructor:  func(b *Backend) { _ = b.Close() },
		MaxSize:     int32(cfg.MaxSize),
	})
	if err != nil {
		return nil, err
	}
	p.p = pp
	go p.janitor()
	return p, nil
}

// Name returns the pool's name.
func (p *Pool) Name() string { return p.cfg.Name }

// Config returns the pool's configuration with defaults applied.
func (p *Pool) Config() Config { return p.cfg }

// construct is puddle's constructor: it adopts an offered backend or dials.
func (p *Pool) construct(ctx context.Context) (*Backend, error) {
	select {
	case b := <-p.offered:
		return b, nil
	default:
	}
	return p.dial(ctx)
}

// dial opens a backend, failing fast while the upstream is known to be
// down: after a failed dial only one attempt runs per backoff period, and
// the other callers get the last error at once.
func (p *Pool) dial(ctx context.Context) (*Backend, error) {
	p.dialMu.Lock()
	if p.failing && (p.attempting || time.Now().Before(p.nextAttempt)) {
		err := p.lastDialErr
		p.dialMu.Unlock()
		return nil, err
	}
	p.attempting = p.failing
	p.dialMu.Unlock()

	b, err := p.cfg.Dial(ctx)

	p.dialMu.Lock()
	defer p.dialMu.Unlock()
	p.attempting = false
	if err != nil {
		p.dialErrors.Add(1)
		var de *DialError
		// A login the server refused is not an outage.
		if errors.As(err, &de) && de.PgErr != nil {
			return nil, err
		}
		if !p.failing {
			p.failing, p.backoff = true, 50*time.Millisecond
		} else {
			p.backoff = min(p.backoff*2, p.cfg.MaxBackoff)
		}
		p.lastDialErr, p.nextAttempt = err, time.Now().Add(p.backoff)
		return nil, err
	}
	p.failing, p.lastDialErr = false, nil
	return b, nil
}

// Offer adds an already dialled backend (one that verified a client's
// password, say) to the pool instead of wasting it. If the pool is full the
// backend is closed.
func (p *Pool) Offer(b *Backend) {
	select {
	case p.offered <- b:
	default:
		_ = b.Close()
		return
	}
	if err := p.p.CreateResource(context.Background()); err != nil {
		select {
		case b := <-p.offered:
			_ = b.Close()
		default:
		}
	}
}

// Acquire returns a lease on an idle backend, dialling a new one if the pool
// has room, or waiting up to the acquire timeout (or ctx) for one to be
// released. Backends that are broken, too old or found dead are destroyed
// and replaced transparently.
func (p *Pool) Acquire(ctx context.Context) (*Lease, error) {
	if p.Closed() {
		return nil, ErrClosed
	}
	start := time.Now()
	p.waiting.Add(1)
	defer p.waiting.Add(-1)
	if err := p.waitResumed(ctx); err != nil {
		return nil, err
	}
	// The acquire timeout is armed only when no backend is idle: taking
	// an idle one (the common case) needs no timer. The deadline is the
	// same for every attempt.
	deadline := start.Add(p.cfg.AcquireTimeout)
	for {
		var res *puddle.Resource[*Backend]
		var err error
		if p.p.Stat().IdleResources() > 0 {
			if res, err = p.p.TryAcquire(ctx); errors.Is(err, puddle.ErrNotAvailable) {
				res, err = nil, nil
			}
		}
		timedOut := false
		if res == nil && err == nil {
			actx, cancel := context.WithDeadline(ctx, deadline)
			res, err = p.p.Acquire(actx)
			timedOut = actx.Err() != nil && ctx.Err() == nil
			cancel()
		}
		if err != nil {
			switch {
			case errors.Is(err, puddle.ErrClosedPool) || p.Closed():
				return nil, ErrClosed
			case timedOut:
				p.acquireTimeouts.Add(1)
				return nil, &AcquireTimeoutError{Pool: p.cfg.Name, Waited: time.Since(start), Size: p.cfg.MaxSize}
			}
			return nil, err
		}
		b := res.Value()
		switch {
		case b.broken, p.cfg.MaxLifetime > 0 && time.Since(b.created) > p.cfg.MaxLifetime && b.created.Before(start):
			// A backend dialled for this call is handed out however
			// short the lifetime: destroying it would only dial again.
			p.destroy(res)
			continue
		case res.IdleDuration() > p.cfg.CheckAfterIdle && !alive(b):
			p.destroy(res)
			continue
		}
		return &Lease{res: res, pool: p}, nil
	}
}

func (p *Pool) destroy(res *puddle.Resource[*Backend]) {
	p.destroyed.Add(1)
	res.Destroy()
}

// alive checks without blocking that an idle backend's connection is open
// and silent. An idle server sends nothing; data or EOF means it is going
// away (a FATAL on shutdown, say).
func alive(b *Backend) bool {
	if b.Buffered > 0 {
		return false
	}
	_ = b.Conn.SetReadDeadline(time.Unix(1, 0))
	n, err := b.Conn.Read(b.ReadBuf[:1])
	_ = b.Conn.SetReadDeadline(time.Time{})
	if n > 0 {
		return false
	}
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// Pause makes Acquire wait until Resume (PgBouncer's PAUSE). Backends in
// use are not affected.
func (p *Pool) Pause() {
	p.pauseMu.Lock()
	defer p.pauseMu.Unlock()
	if p.paused == nil {
		p.paused = make(chan struct{})
	}
}

// Resume lets waiting Acquire calls proceed.
func (p *Pool) Resume() {
	p.pauseMu.Lock()
	defer p.pauseMu.Unlock()
	if p.paused != nil {
		close(p.paused)
		p.paused = nil
	}
}

// Paused reports whether the pool is paused.
func (p *Pool) Paused() bool {
	p.pauseMu.Lock()
	defer p.pauseMu.Unlock()
	return p.paused != nil
}

// waitResumed waits while the pool is paused, up to PausedWaitTimeout.
func (p *Pool) waitResumed(ctx context.Context) error {
	p.pauseMu.Lock()
	ch := p.paused
	p.pauseMu.Unlock()
	if ch == nil {
		return nil
	}
	start := time.Now()
	t := time.NewTimer(p.cfg.PausedWaitTimeout)
	defer t.Stop()
	select {
	case <-ch:
		return nil
	case <-p.stop:
		return ErrClosed
	case <-t.C:
		p.acquireTimeouts.Add(1)
		return &AcquireTimeoutError{Pool: p.cfg.Name, Waited: time.Since(start), Size: p.cfg.MaxSize, Paused: true}
	case <-ctx.Done():
		return ctx.Err()
	}
}

// BackendInfo describes a backend for the admin console.
type BackendInfo struct {
	PID     uint32
	Addr    string
	Created time.Time
}

// IdleBackends describes the backends idle at this moment.
func (p *Pool) IdleBackends() []BackendInfo {
	idle := p.p.AcquireAllIdle()
	out := make([]BackendInfo, 0, len(idle))
	for _, res := range idle {
		b := res.Value()
		out = append(out, BackendInfo{PID: b.PID, Addr: b.address, Created: b.created})
		res.ReleaseUnused()
	}
	return out
}

// CloseIdle destroys every idle backend (KILL, RELOAD of an upstream).
func (p *Pool) CloseIdle() {
	for _, res := range p.p.AcquireAllIdle() {
		p.destroy(res)
	}
}

// Closed reports whether Close was called: the pool hands out no more
// leases.
func (p *Pool) Closed() bool {
	select {
	case <-p.stop:
		return true
	default:
		return false
	}
}

// Close destroys idle backends, waits up to timeout for leased ones to be
// released or destroyed, and stops the janitor.
func (p *Pool) Close(timeout time.Duration) {
	select {
	case <-p.stop:
		return
	default:
		close(p.stop)
	}
	<-p.done
	p.Resume()
	closed := make(chan struct{})
	go func() {
		p.p.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(timeout):
	}
	for {
		select {
		case b := <-p.offered:
			_ = b.Close()
		default:
			return
		}
	}
}

// janitor enforces IdleTimeout, MaxLifetime, health checks and MinIdle. It
// is owned by the pool and exits on Close.
func (p *Pool) janitor() {
	defer close(p.done)
	period := min(p.cfg.HealthCheckPeriod, time.Second)
	t := time.NewTicker(period)
	defer t.Stop()
	lastHealth := time.Now()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		checkHealth := time.Since(lastHealth) >= p.cfg.HealthCheckPeriod
		if checkHealth {
			lastHealth = time.Now()
		}
		idle := p.p.AcquireAllIdle()
		total := int(p.p.Stat().TotalResources())
		for _, res := range idle {
			b := res.Value()
			switch {
			case b.broken,
				p.cfg.MaxLifetime > 0 && time.Since(b.created) > p.cfg.MaxLifetime,
				p.cfg.IdleTimeout > 0 && res.IdleDuration() > p.cfg.IdleTimeout && total > p.cfg.MinIdle,
				checkHealth && !alive(b):
				p.destroy(res)
				total--
			default:
				res.ReleaseUnused()
			}
		}
		st := p.p.Stat()
		for i := int(st.IdleResources() + st.ConstructingResources()); i < p.cfg.MinIdle && int(st.TotalResources()) < p.cfg.MaxSize; i++ {
			if err := p.p.CreateResource(context.Background()); err != nil {
				break
			}
		}
	}
}

// Stats is a snapshot of a pool's counters.
type Stats struct {
	Name            string
	MaxSize         int
	Total           int
	Idle            int
	Acquired        int
	Constructing    int
	Waiting         int
	AcquireCount    int64
	EmptyAcquires   int64
	AcquireWait     time.Duration
	AcquireTimeouts int64
	DialErrors      int64
	Destroyed       int64
	Paused          bool
}

// Stat returns the pool's current statistics.
func (p *Pool) Stat() Stats {
	s := p.p.Stat()
	return Stats{
		Name:            p.cfg.Name,
		MaxSize:         p.cfg.MaxSize,
		Total:           int(s.TotalResources()),
		Idle:            int(s.IdleResources()),
		Acquired:        int(s.AcquiredResources()),
		Constructing:    int(s.ConstructingResources()),
		Waiting:         int(p.waiting.Load()),
		AcquireCount:    s.AcquireCount(),
		EmptyAcquires:   s.EmptyAcquireCount(),
		AcquireWait:     s.AcquireDuration(),
		AcquireTimeouts: p.acquireTimeouts.Load(),
		DialErrors:      p.dialErrors.Load(),
		Destroyed:       p.destroyed.Load(),
		Paused:          p.Paused(),
	}
}

// Lease is one session's hold on a backend. It is owned by one goroutine at
// a time; after Release or Destroy it must not be used.
type Lease struct {
	res  *puddle.Resource[*Backend]
	pool *Pool
}

// Backend returns the leased backend.
func (l *Lease) Backend() *Backend { return l.res.Value() }

// Pool returns the pool the lease came from.
func (l *Lease) Pool() *Pool { return l.pool }

// Release returns the backend to the pool. The caller guarantees it is idle
// (ReadyForQuery 'I'), not in COPY, with nothing in flight and nothing
// unread; a backend marked broken is destroyed instead.
func (l *Lease) Release() {
	b := l.res.Value()
	if b.broken || b.Buffered > 0 {
		l.pool.destroy(l.res)
		return
	}
	l.res.Release()
}

// Destroy closes the backend and frees its place in the pool.
func (l *Lease) Destroy() { l.pool.destroy(l.res) }
