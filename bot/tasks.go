package bot

import (
	"context"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paylink/paylink/bot/edge"
	"github.com/rs/zerolog"
)

// Tasks runs work that a request starts but that outlives it (finishing a slow link,
// posting to Slack). Each task gets its own context with a deadline, independent of the
// request's; Drain waits for all of them on shutdown.
//
// A goroutine that finishes a task waits for the next one (up to maxIdleWorkers wait at
// once) instead of exiting. A link's work calls deep into net/http and go-redis, so a
// new goroutine's stack grows and is copied several times on every link; a goroutine
// reused keeps the stack it grew. In a profile under load that copying was 4.5% of
// paylink's CPU (BENCHMARKS.md, "CPU per link, memory and the embedded Redis").
type Tasks struct {
	log    zerolog.Logger
	base   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	closed bool
	// running counts the tasks under way.
	running atomic.Int64
	// next hands a task to a goroutine waiting for one; unbuffered, so a send succeeds
	// only when one is waiting. idle counts them; quit lets them go.
	next chan task
	idle atomic.Int64
	quit chan struct{}
}

type task struct {
	timeout time.Duration
	f       func(ctx context.Context)
}

// maxIdleWorkers is how many goroutines may wait for a task at once; beyond it a
// goroutine that finishes its task exits.
const maxIdleWorkers = 64

// NewTasks returns an empty task group. A task that panics is logged to log, and the
// process carries on.
func NewTasks(log zerolog.Logger) *Tasks {
	ctx, cancel := context.WithCancel(context.Background())
	return &Tasks{log: log, base: ctx, cancel: cancel, next: make(chan task), quit: make(chan struct{})}
}

// Go runs f with a context that ends after timeout, or when Drain gives up waiting, on
// a goroutine waiting for work or a new one. It returns false, and does not run f, once
// Drain has begun.
func (t *Tasks) Go(timeout time.Duration, f func(ctx context.Context)) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.wg.Add(1)
	t.running.Add(1)
	select {
	case t.next <- task{timeout, f}:
	default:
		go t.work(task{timeout, f})
	}
	return true
}

// work runs w, then the tasks handed to it while it waits, until too many wait or the
// group is drained.
func (t *Tasks) work(w task) {
	for {
		t.run(w)
		if t.idle.Add(1) > maxIdleWorkers {
			t.idle.Add(-1)
			return
		}
		select {
		case w = <-t.next:
			t.idle.Add(-1)
		case <-t.quit:
			t.idle.Add(-1)
			return
		}
	}
}

// run runs one task; a panic is logged, and the goroutine carries on.
func (t *Tasks) run(w task) {
	defer t.wg.Done()
	defer t.running.Add(-1)
	defer func() {
		if p := recover(); p != nil {
			t.log.Error().Str("panic", edge.Truncate(edge.PanicText(p), 500)).Bytes("stack", debug.Stack()).Msg("background task panicked")
		}
	}()
	ctx, cancel := context.WithTimeout(t.base, w.timeout)
	defer cancel()
	w.f(ctx)
}

// Running reports how many tasks are under way.
func (t *Tasks) Running() int { return int(t.running.Load()) }

// Drain refuses new tasks and waits for the running ones to finish. If ctx ends first,
// it cancels their contexts, waits for them to return, and returns ctx's error.
func (t *Tasks) Drain(ctx context.Context) error {
	t.mu.Lock()
	if !t.closed {
		t.closed = true
		close(t.quit) // the goroutines waiting for work go
	}
	t.mu.Unlock()
	done := make(chan struct{})
	go func() {
		t.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		t.cancel()
		return nil
	case <-ctx.Done():
		t.cancel()
		<-done
		return ctx.Err()
	}
}
