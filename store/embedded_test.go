package store_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paylink/paylink/store"
)

// TestEmbeddedKeepsTime: the embedded Redis as paylink runs it (real clock, its own
// ticker) expires a key with a 1 s TTL by itself.
func TestEmbeddedKeepsTime(t *testing.T) {
	t.Parallel()
	e, err := store.Embedded(store.EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	rdb := e.Client()
	if err := rdb.Set(ctx, "k", "v", time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for rdb.Exists(ctx, "k").Val() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("a key with a 1 s TTL still exists 12 s later")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestEmbeddedListensNowhere: the embedded Redis opens no socket, so nothing but
// paylink's own client can reach it; its connections are in-memory pipes.
func TestEmbeddedListensNowhere(t *testing.T) {
	sockets := func() int {
		fds, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skip("no /proc/self/fd here:", err)
		}
		n := 0
		for _, fd := range fds {
			if target, err := os.Readlink("/proc/self/fd/" + fd.Name()); err == nil && strings.HasPrefix(target, "socket:") {
				n++
			}
		}
		return n
	}
	before := sockets()
	e, err := store.Embedded(store.EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	for i := range 20 { // several connections at once
		if err := e.Client().Set(ctx, fmt.Sprint("k", i), "v", time.Minute).Err(); err != nil {
			t.Fatalf("the embedded client: %v", err)
		}
	}
	if err := e.Client().Ping(ctx).Err(); err != nil {
		t.Fatalf("the embedded client: %v", err)
	}
	if after := sockets(); after != before {
		t.Errorf("%d sockets open before the embedded Redis, %d with it running: it listens or dials", before, after)
	}
}

// TestEmbeddedInjectedClock: with the clock and its ticks in the test's hands, a key
// lives until the clock passes its TTL and a tick comes, and TIME follows the clock.
func TestEmbeddedInjectedClock(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	ticks := make(chan time.Time)
	e, err := store.Embedded(store.EmbeddedOptions{Now: clock.Now, Ticks: ticks})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	rdb := e.Client()
	rdb.Set(ctx, "short", "v", time.Hour)
	rdb.Set(ctx, "long", "v", 40*24*time.Hour)

	clock.Add(59 * time.Minute)
	ticks <- clock.Now()
	ticks <- clock.Now() // the first tick is handled once the second is taken
	if rdb.Exists(ctx, "short").Val() != 1 {
		t.Fatal("a key expired before its TTL")
	}
	if got := rdb.Time(ctx).Val(); !got.Equal(clock.Now()) {
		t.Errorf("TIME = %v, want the clock's %v", got, clock.Now())
	}
	clock.Add(2 * time.Minute)
	ticks <- clock.Now()
	ticks <- clock.Now()
	if rdb.Exists(ctx, "short").Val() != 0 {
		t.Error("a key outlived its 1 h TTL")
	}
	if ttl := rdb.TTL(ctx, "long").Val(); ttl > 40*24*time.Hour-time.Hour || ttl < 40*24*time.Hour-2*time.Hour {
		t.Errorf("40-day key TTL after 61 minutes = %v", ttl)
	}
	clock.Add(40 * 24 * time.Hour)
	e.Advance()
	if rdb.Exists(ctx, "long").Val() != 0 {
		t.Error("a key outlived its 40-day TTL")
	}
}

// TestEmbeddedSoak: commands' worth of store writes (a claim with the request's
// signature, the link record) on the embedded Redis, an hour apart, with reconciliation
// pruning the open set as it does: the key count levels off once the 40-day records
// expire, and so does the memory (miniredis's bookkeeping of the key names it saw is
// pruned of the keys that are gone).
// PAYLINK_SOAK_COMMANDS sets the count (default 2,500, enough for 100 days; 2,000 with
// -short).
func TestEmbeddedSoak(t *testing.T) {
	t.Parallel()
	n := 2500
	if testing.Short() {
		n = 2000
	}
	if v := os.Getenv("PAYLINK_SOAK_COMMANDS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 2000 {
			t.Fatalf("PAYLINK_SOAK_COMMANDS=%q: want a number ≥ 2000", v)
		}
	}
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	e, err := store.Embedded(store.EmbeddedOptions{Now: clock.Now, Ticks: make(chan time.Time)})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	rdb := e.Client()
	s := store.New(rdb, store.Options{Now: clock.Now})

	type sample struct {
		at   int
		keys int64
		heap uint64
	}
	var samples []sample
	measure := func(i int) sample {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		// The per-day counters are kept 400 days, longer than the soak: leave them out.
		counters := int64(len(rdb.Keys(ctx, "paylink:{events}:day*").Val()))
		return sample{i, rdb.DBSize(ctx).Val() - counters, ms.HeapAlloc}
	}
	for i := range n {
		now := clock.Now()
		fp := fmt.Sprintf("fp-%d", i)
		c, err := s.ClaimCommand(ctx, store.ClaimRequest{
			Fingerprint: fp, Token: "t" + strconv.Itoa(i), PendingTTL: 45 * time.Second,
			Signature: "v0=" + strconv.Itoa(i),
			Dup:       store.DupCheck{Team: "T1", Reference: "ref-" + strconv.Itoa(i)},
			Rate:      store.RateCheck{Team: "T1", User: fmt.Sprintf("U%d", i%20), Limit: 30, Window: time.Hour},
		})
		if err != nil || !c.Won {
			t.Fatalf("command %d: claim %+v, %v", i, c, err)
		}
		l := store.Link{IntentID: fmt.Sprintf("pi_%08d", i), TeamID: "T1", ChannelID: fmt.Sprintf("C%d", i%7),
			UserID: fmt.Sprintf("U%d", i%20), Amount: 1000, Currency: "GBP", Reference: "ref-" + strconv.Itoa(i),
			Status: "Created", CreatedAt: now, ExpiresAt: now.Add(30 * 24 * time.Hour)}
		if err := s.SaveLink(ctx, l, &c, 10*time.Minute); err != nil {
			t.Fatalf("command %d: save: %v", i, err)
		}
		if i%5 == 0 {
			// Reconciliation's pass: links older than 31 days leave the open set.
			if _, _, err := s.OpenLinks(ctx, now.Add(-31*24*time.Hour), "", 100); err != nil {
				t.Fatal(err)
			}
		}
		clock.Add(time.Hour)
		if i%10 == 9 {
			e.Advance() // a tick
		}
		if (i+1)%(n/10) == 0 {
			samples = append(samples, measure(i+1))
		}
	}
	for _, sm := range samples {
		t.Logf("after %6d commands (%5.0f days): %5d keys, Go heap %6.1f MiB", sm.at, float64(sm.at)/24, sm.keys, float64(sm.heap)/(1<<20))
	}
	// 40 days at one command an hour: 960 live link records and as many reference
	// indexes, reference open sets and status hashes (the mark that a link was
	// counted), a few channel lists, the open set and the current rate buckets.
	const steady = 4 * 40 * 24
	last := samples[len(samples)-1]
	if last.keys > steady+100 {
		t.Errorf("%d keys after %d commands, want about %d: records are not expiring", last.keys, n, steady)
	}
	mid := samples[len(samples)/2-1]
	if n >= 2*steady && last.keys > mid.keys+50 {
		t.Errorf("keys grew from %d (after %d commands) to %d (after %d): no level", mid.keys, mid.at, last.keys, last.at)
	}
	perCommand := (float64(last.heap) - float64(mid.heap)) / float64(last.at-mid.at)
	t.Logf("heap growth in the second half: %.0f bytes a command", perCommand)
	if perCommand > 1024 {
		t.Errorf("the heap grows by %.0f bytes a command once the keys level off, want under 1 KiB (its maps still settle this early; longer runs are level)", perCommand)
	}
	if open := rdb.ZCard(ctx, "paylink:{events}:open").Val(); open > 31*24+10 {
		t.Errorf("open set holds %d links, want at most 31 days' worth", open)
	}
}

// TestEmbeddedLuaStackHeadroom: the embedded Redis's smaller Lua states still run
// paylink's largest script step, unpacking a batch of due links, at ten times the
// batch the sweeper takes (100).
func TestEmbeddedLuaStackHeadroom(t *testing.T) {
	e, err := store.Embedded(store.EmbeddedOptions{Ticks: make(chan time.Time)})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	s := store.New(e.Client(), store.Options{})
	at := time.Now().Add(-time.Hour)
	const n = 1000
	for i := range n {
		if err := s.ExpireLater(ctx, fmt.Sprintf("pi_%08d", i), at); err != nil {
			t.Fatal(err)
		}
	}
	ids, err := s.DueExpiries(ctx, time.Now(), n)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != n {
		t.Fatalf("%d due links handed out, want %d", len(ids), n)
	}
}
