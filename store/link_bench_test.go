package store_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/paylink/paylink/store"
	"github.com/paylink/paylink/store/redistest"
)

// BenchmarkLinkStoreWork is one link's store work: the claim, the record with its
// indexes and counters, and the card's place with its audit event. cpu-ns/op is this
// process's CPU (user and system) per link: the client's share on a real Redis, the
// whole of it on the embedded one, which runs every script in a fresh Lua state.
func BenchmarkLinkStoreWork(b *testing.B) {
	b.Run("embedded", func(b *testing.B) {
		e, err := store.Embedded(store.EmbeddedOptions{Ticks: make(chan time.Time)})
		if err != nil {
			b.Fatal(err)
		}
		defer e.Close()
		linkWork(b, store.New(e.Client(), store.Options{}))
	})
	b.Run("redis", func(b *testing.B) {
		url := os.Getenv("REDIS_URL")
		if url == "" {
			b.Skip("REDIS_URL is not set")
		}
		rc, err := store.ParseRedisURL(url)
		if err != nil {
			b.Fatal(err)
		}
		rdb := rc.NewClient()
		defer rdb.Close()
		prefix := fmt.Sprintf("paylinkbench:%d:", time.Now().UnixNano())
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := redistest.DropPrefix(ctx, rdb, prefix); err != nil {
				b.Error(err)
			}
		}()
		linkWork(b, store.New(rdb, store.Options{Prefix: prefix}))
	})
}

// BenchmarkEmbeddedHeldPerLink is what the embedded Redis keeps in memory for each link
// until its keys expire: live heap per link (live-B/link) after b.N links' store work.
// It bounds how many links an embedded paylink holds in a given RSS.
func BenchmarkEmbeddedHeldPerLink(b *testing.B) {
	e, err := store.Embedded(store.EmbeddedOptions{Ticks: make(chan time.Time)})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	linkWork(b, store.New(e.Client(), store.Options{}))
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(b.N), "live-B/link")
}

func linkWork(b *testing.B, s *store.Store) {
	ctx := context.Background()
	b.ReportAllocs()
	start := cpuTime()
	n := 0
	for b.Loop() {
		ref := "ref-" + strconv.Itoa(n)
		c, err := s.ClaimCommand(ctx, store.ClaimRequest{
			Fingerprint: "fp-" + ref, Token: "t-" + ref, PendingTTL: 45 * time.Second, Signature: "v0=" + ref,
			Dup: store.DupCheck{Team: "T1", Reference: ref},
			// The default rate limit, 30 an hour, each user at most at it.
			Rate: store.RateCheck{Team: "T1", User: "U" + strconv.Itoa(n/30), Limit: 30, Window: time.Hour},
		})
		if err != nil || !c.Won {
			b.Fatalf("claim %+v, %v", c, err)
		}
		now := time.Now()
		id := fmt.Sprintf("pi_%08d", n)
		l := store.Link{IntentID: id, TeamID: "T1", ChannelID: "C1", UserID: "U1", Amount: 1000, Currency: "GBP",
			Reference: ref, Status: "Created", CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)}
		if err := s.SaveLink(ctx, l, &c, 10*time.Minute); err != nil {
			b.Fatal(err)
		}
		created := store.AuditEvent{Event: "created", Team: "T1", Channel: "C1", User: "U1", Amount: 1000, Currency: "GBP", Reference: ref, Intent: id}
		if err := s.LinkPosted(ctx, id, "C1", "1700000000.000100", created); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(n), "cpu-ns/op")
}

// cpuTime is the CPU this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
