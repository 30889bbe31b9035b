package store

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// EmbeddedTick is how often an embedded Redis's clock is moved on by default: the
// precision of its TTLs.
const EmbeddedTick = 200 * time.Millisecond

// EmbeddedOptions tune Embedded. The zero value is what paylink runs with.
type EmbeddedOptions struct {
	// Now is the clock the TTLs follow; default time.Now.
	Now func() time.Time
	// Ticks, when set, drives the clock updates instead of a time.Ticker every
	// EmbeddedTick (tests send on it, or leave it silent and call Advance).
	Ticks <-chan time.Time
}

// EmbeddedRedis is an in-process Redis (miniredis) for running paylink without a
// Redis server. It keeps time: miniredis expires keys only when told how much time
// passed, so a ticker moves its clock to Now and its TTLs on by the time elapsed,
// and every TTL holds as on a real Redis (to within a tick). It listens on 127.0.0.1
// with a random password that is never shown.
type EmbeddedRedis struct {
	mr     *miniredis.Miniredis
	rdb    *redis.Client
	now    func() time.Time
	mu     sync.Mutex
	last   time.Time
	stop   chan struct{}
	done   chan struct{}
	closed sync.Once
}

// Embedded starts an in-process Redis. Close stops it.
//
// miniredis's own ClockTTL would expire keys by the clock too, but it walks (and
// sorts) every key on every command; the ticker does that once per tick instead.
func Embedded(opts EmbeddedOptions) (*EmbeddedRedis, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	pw := make([]byte, 24)
	if _, err := rand.Read(pw); err != nil {
		return nil, fmt.Errorf("embedded redis: password: %w", err)
	}
	password := hex.EncodeToString(pw)
	mr := miniredis.NewMiniRedis()
	mr.RequireAuth(password)
	if err := mr.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("start embedded redis: %w", err)
	}
	e := &EmbeddedRedis{
		mr:   mr,
		now:  now,
		last: now(),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	mr.SetTime(e.last)
	e.rdb = redis.NewClient(&redis.Options{Addr: mr.Addr(), Password: password})
	ticks := opts.Ticks
	var ticker *time.Ticker
	if ticks == nil {
		ticker = time.NewTicker(EmbeddedTick)
		ticks = ticker.C
	}
	go func() {
		defer close(e.done)
		if ticker != nil {
			defer ticker.Stop()
		}
		for {
			select {
			case <-e.stop:
				return
			case <-ticks:
				e.Advance()
			}
		}
	}()
	return e, nil
}

// Client is a client of the embedded Redis (the same one on every call; Close closes
// it).
func (e *EmbeddedRedis) Client() redis.UniversalClient { return e.rdb }

// Advance moves the embedded Redis's clock to Now and expires what is due: what each
// tick does.
func (e *EmbeddedRedis) Advance() {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	elapsed := now.Sub(e.last)
	if elapsed <= 0 {
		return
	}
	e.last = now
	e.mr.SetTime(now)
	e.mr.FastForward(elapsed)
}

// Close stops the clock, the client and the server.
func (e *EmbeddedRedis) Close() error {
	e.closed.Do(func() {
		close(e.stop)
		<-e.done
		e.rdb.Close()
		e.mr.Close()
	})
	return nil
}
