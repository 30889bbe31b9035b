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
type Tasks struct {
	log    zerolog.Logger
	base   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	closed bool
	// running counts the tasks under way.
	running atomic.Int64
}

// NewTasks returns an empty task group. A task that panics is logged to log, and the
// process carries on.
func NewTasks(log zerolog.Logger) *Tasks {
	ctx, cancel := context.WithCancel(context.Background())
	return &Tasks{log: log, base: ctx, cancel: cancel}
}

// Go runs f in a new goroutine with a context that ends after timeout, or when Drain
// gives up waiting. It returns false, and does not run f, once Drain has begun.
func (t *Tasks) Go(timeout time.Duration, f func(ctx context.Context)) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.wg.Add(1)
	t.running.Add(1)
	go func() {
		defer t.wg.Done()
		defer t.running.Add(-1)
		defer func() {
			if p := recover(); p != nil {
				t.log.Error().Str("panic", edge.Truncate(edge.PanicText(p), 500)).Bytes("stack", debug.Stack()).Msg("background task panicked")
			}
		}()
		ctx, cancel := context.WithTimeout(t.base, timeout)
		defer cancel()
		f(ctx)
	}()
	return true
}

// Running reports how many tasks are under way.
func (t *Tasks) Running() int { return int(t.running.Load()) }

// Drain refuses new tasks and waits for the running ones to finish. If ctx ends first,
// it cancels their contexts, waits for them to return, and returns ctx's error.
func (t *Tasks) Drain(ctx context.Context) error {
	t.mu.Lock()
	t.closed = true
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
