package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/paylink/paylink/store"
)

// fakeClock is a clock a test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestReferenceReservedWhileCreated: two commands for one reference at the same moment
// make one link: the first reserves the reference before Dojo is asked; the second is
// told a link for it is being created. A failed create frees the reference; a created
// link holds it until the link closes.
func TestReferenceReservedWhileCreated(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := store.New(b.rdb, store.Options{Prefix: uniquePrefix(t)})
			claim := func(fp string, skip bool) store.Claim {
				t.Helper()
				c, err := s.ClaimCommand(ctx, store.ClaimRequest{Fingerprint: fp, Token: fp, PendingTTL: time.Minute,
					Dup: store.DupCheck{Team: "T1", Reference: "INV-7", Skip: skip}})
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			first := claim("a", false)
			if !first.Won {
				t.Fatalf("first = %+v, want won", first)
			}
			if c := claim("b", false); c.Won || !c.Creating {
				t.Fatalf("same reference while the first is created = %+v, want Creating", c)
			}
			if err := s.ReleaseCommand(ctx, first); err != nil {
				t.Fatal(err)
			}
			second := claim("c", false)
			if !second.Won {
				t.Fatalf("after the first failed = %+v, want won", second)
			}
			l := sampleLink("pi_inv7")
			l.TeamID, l.Reference, l.CreatedAt = "T1", "inv-7", time.Now()
			if err := s.SaveLink(ctx, l, &second, time.Minute); err != nil {
				t.Fatal(err)
			}
			if c := claim("d", false); c.Won || len(c.Open) != 1 || c.Open[0] != "pi_inv7" || c.Creating {
				t.Fatalf("while the link is open = %+v, want it listed", c)
			}
			anyway := claim("e", true)
			if !anyway.Won {
				t.Fatalf("create another anyway = %+v, want won", anyway)
			}
			if err := s.ReleaseCommand(ctx, anyway); err != nil {
				t.Fatal(err)
			}
			if _, err := s.RecordStatus(ctx, store.StatusEvent{IntentID: "pi_inv7", Status: "Canceled", EventID: "e", Source: "slack",
				Origin: store.Origin{Team: "T1", Reference: "inv-7"}}); err != nil {
				t.Fatal(err)
			}
			if c := claim("f", false); !c.Won {
				t.Fatalf("after the link closed = %+v, want won", c)
			}
		})
	}
}

// TestRateLimitSlides: 3 links a minute means 3 in any 60 seconds, across a minute's
// boundary too, and the refusal says when the oldest leaves the window.
func TestRateLimitSlides(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			clock := &fakeClock{now: time.Date(2026, 11, 30, 10, 0, 58, 0, time.UTC)}
			s := store.New(b.rdb, store.Options{Prefix: uniquePrefix(t), Now: clock.Now})
			n := 0
			claim := func() store.Claim {
				t.Helper()
				n++
				fp := fmt.Sprint("fp", n)
				c, err := s.ClaimCommand(ctx, store.ClaimRequest{Fingerprint: fp, Token: fp, PendingTTL: time.Minute,
					Rate: store.RateCheck{Team: "T1", User: "U1", Limit: 3, Window: time.Minute}})
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			for i := range 3 {
				if c := claim(); !c.Won {
					t.Fatalf("link %d = %+v, want won", i+1, c)
				}
				clock.Add(time.Second) // 10:00:58, :59, 10:01:00
			}
			clock.Add(500 * time.Millisecond) // 10:01:01.5, past the minute's boundary
			c := claim()
			if !c.Limited {
				t.Fatalf("a 4th link within 60 s = %+v, want limited", c)
			}
			if want := 56500 * time.Millisecond; c.RetryAfter != want {
				t.Errorf("retry after %v, want %v (when the first leaves the window)", c.RetryAfter, want)
			}
			clock.Add(c.RetryAfter)
			if c := claim(); !c.Won {
				t.Fatalf("once the first left the window = %+v, want won", c)
			}
			if c := claim(); !c.Limited {
				t.Fatalf("right after = %+v, want limited again", c)
			}
		})
	}
}

// TestOpenLinksCursor: pages over the open links continue where the last stopped, so
// every open link is reached however many there are, and a page that reaches the
// newest starts the walk again.
func TestOpenLinksCursor(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := store.New(b.rdb, store.Options{Prefix: uniquePrefix(t)})
			base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
			var want []string
			for i := range 7 {
				l := sampleLink(fmt.Sprintf("pi_%02d", i))
				l.Reference = ""
				l.CreatedAt = base.Add(time.Duration(i/2) * time.Second) // pairs share a time
				if err := s.SaveLink(ctx, l, nil, 0); err != nil {
					t.Fatal(err)
				}
				want = append(want, l.IntentID)
			}
			since := base.Add(-24 * time.Hour)
			var got []string
			cursor := ""
			for page := 0; ; page++ {
				ids, next, err := s.OpenLinks(ctx, since, cursor, 3)
				if err != nil {
					t.Fatal(err)
				}
				for _, l := range ids {
					got = append(got, l.IntentID)
				}
				if next == "" {
					break
				}
				if page > 5 {
					t.Fatal("the walk does not end")
				}
				cursor = next
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("walk = %v, want %v", got, want)
			}
			// A link closed between pages is skipped, not the one after it.
			ids, next, _ := s.OpenLinks(ctx, since, "", 2)
			s.RecordStatus(ctx, store.StatusEvent{IntentID: "pi_02", Status: "Captured", EventID: "e", Source: "webhook"})
			rest, _, _ := s.OpenLinks(ctx, since, next, 2)
			if len(ids) != 2 || len(rest) != 2 || rest[0].IntentID != "pi_03" {
				t.Errorf("after closing pi_02: first %v, then %v, want pi_03 next", ids, rest)
			}
		})
	}
}

// TestMinReplicasNotMet: with MinReplicas above what Redis has, the writes that must
// survive a failover report ErrNotReplicated after the wait timeout.
func TestMinReplicasNotMet(t *testing.T) {
	if os.Getenv("REDIS_URL") == "" {
		t.Skip("REDIS_URL is not set: WAIT needs a real Redis (CI sets it)")
	}
	for _, b := range backends(t) {
		if b.mr != nil {
			continue
		}
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			// More replicas than any test topology has.
			s := store.New(b.rdb, store.Options{Prefix: uniquePrefix(t), MinReplicas: 5, WaitTimeout: 50 * time.Millisecond})
			l := sampleLink("pi_wait")
			if err := s.SaveLink(ctx, l, nil, 0); !errors.Is(err, store.ErrNotReplicated) {
				t.Errorf("SaveLink = %v, want ErrNotReplicated", err)
			}
			if _, err := s.RecordStatus(ctx, store.StatusEvent{IntentID: "pi_wait", Status: "Captured", EventID: "e", Source: "webhook"}); !errors.Is(err, store.ErrNotReplicated) {
				t.Errorf("RecordStatus = %v, want ErrNotReplicated", err)
			}
			if err := s.SetNoticePosted(ctx, "pi_wait", "Captured", "1.2", "Captured"); !errors.Is(err, store.ErrNotReplicated) {
				t.Errorf("SetNoticePosted = %v, want ErrNotReplicated", err)
			}
			// With what Redis has, the same writes succeed.
			ok := store.New(b.rdb, store.Options{Prefix: uniquePrefix(t), MinReplicas: 0})
			if err := ok.SaveLink(ctx, l, nil, 0); err != nil {
				t.Errorf("SaveLink without replicas asked = %v", err)
			}
		})
	}
}
