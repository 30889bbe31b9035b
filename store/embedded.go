package store

import (
	"context"
	"net"
	"reflect"
	"sync"
	"time"
	"unsafe"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	lua "github.com/yuin/gopher-lua"
)

// The embedded Redis (miniredis) runs every script in a fresh Lua state, made with
// gopher-lua's default sizes: a value stack of 5,120 slots and 256 call frames, about
// 110 KiB allocated and cleared per script call. paylink's scripts are flat (no
// recursion) and hold at most a few hundred values at once (the largest unpacks a
// batch of 100 ids), so states a fraction of that size serve them with room to spare:
// BenchmarkEmbeddedLink, one link's store work, allocates 694 KiB instead of 955 KiB.
// The sizes are gopher-lua's process-wide defaults; only miniredis makes Lua states
// in paylink.
func init() {
	lua.RegistrySize = luaStackSlots
	lua.CallStackSize = luaCallFrames
}

const (
	luaStackSlots = 2048
	luaCallFrames = 64
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
// and every TTL holds as on a real Redis (to within a tick). It listens nowhere: its
// client's connections are in-memory pipes (net.Pipe) served by miniredis, so no other
// process can reach it, and a command costs no system call.
type EmbeddedRedis struct {
	mr     *miniredis.Miniredis
	rdb    *redis.Client
	now    func() time.Time
	mu     sync.Mutex
	last   time.Time
	pruned time.Time // when forgetGoneKeys last ran
	// gap is the least time between two moves of the clock: EmbeddedTick, or more when
	// walking the keys takes long (see Advance).
	gap    time.Duration
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
	mr := miniredis.NewMiniRedis()
	e := &EmbeddedRedis{
		mr:   mr,
		now:  now,
		last: now(),
		gap:  EmbeddedTick,
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	mr.SetTime(e.last)
	e.rdb = redis.NewClient(&redis.Options{Addr: "embedded", Dialer: func(context.Context, string, string) (net.Conn, error) {
		return mr.Dial()
	}})
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

// walkShare bounds the share of one core the clock's moves may take: miniredis walks,
// and sorts, every key to move its TTLs on, so with many keys the moves come further
// apart than EmbeddedTick, each at least walkShare times the last walk's duration after
// the one before (100,000 keys: about a second). TTLs here are minutes to days.
const walkShare = 50

// Advance moves the embedded Redis's clock to Now and expires what is due: what each
// tick does, unless the last move was less than its gap ago (EmbeddedTick, or more
// with many keys: see walkShare).
func (e *EmbeddedRedis) Advance() {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	elapsed := now.Sub(e.last)
	if elapsed <= 0 || elapsed < e.gap {
		return
	}
	e.last = now
	e.mr.SetTime(now)
	walk := time.Now()
	e.mr.FastForward(elapsed)
	e.gap = max(EmbeddedTick, walkShare*time.Since(walk))
	if now.Sub(e.pruned) >= pruneEvery {
		e.pruned = now
		forgetGoneKeys(e.mr)
	}
}

// pruneEvery is how often the embedded Redis forgets the keys that are gone.
const pruneEvery = time.Minute

// forgetGoneKeys drops what miniredis remembers of keys that no longer exist. For
// WATCH, miniredis keeps a version number for every key name it has ever seen and never
// lets one go, so without this its memory grows by every link's key names for as long
// as paylink runs (about 0.5–0.8 KiB a link). paylink never uses WATCH; for anyone who
// did, a dropped version can only make a transaction on a deleted key abort and be
// retried, never succeed wrongly. miniredis offers no way to do this, so it reaches
// into the pinned version's fields (under its own lock); if they are not what it
// expects, it does nothing and reports false.
func forgetGoneKeys(m *miniredis.Miniredis) bool {
	m.Lock()
	defer m.Unlock()
	dbs := reflect.ValueOf(m).Elem().FieldByName("dbs")
	if !dbs.IsValid() || dbs.Kind() != reflect.Map {
		return false
	}
	it := dbs.MapRange()
	for it.Next() {
		db := it.Value()
		if db.Kind() != reflect.Pointer || db.IsNil() {
			return false
		}
		keysField, versionsField := db.Elem().FieldByName("keys"), db.Elem().FieldByName("keyVersion")
		if !keysField.IsValid() || keysField.Type() != reflect.TypeFor[map[string]string]() ||
			!versionsField.IsValid() || versionsField.Type() != reflect.TypeFor[map[string]uint]() {
			return false
		}
		keys := *(*map[string]string)(unsafe.Pointer(keysField.UnsafeAddr()))
		versions := *(*map[string]uint)(unsafe.Pointer(versionsField.UnsafeAddr()))
		for k := range versions {
			if _, ok := keys[k]; !ok {
				delete(versions, k)
			}
		}
	}
	return true
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
