package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paylink/paylink/store"
)

func TestRecordStatusOncePerStatus(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := store.New(b.rdb, store.Options{Prefix: uniquePrefix(t)})
			if err := s.EnsureGroup(ctx); err != nil {
				t.Fatal(err)
			}
			steps := []struct {
				status           string
				recorded, queued bool
				current          string
			}{
				{"Created", true, false, "Created"},
				{"Captured", true, true, "Captured"},
				{"Captured", false, false, "Captured"},  // redelivered
				{"Created", false, false, "Captured"},   // late and already seen
				{"Authorized", true, false, "Captured"}, // late: recorded, moves nothing back
				{"Refunded", true, true, "Refunded"},
				{"Captured", false, false, "Refunded"},
			}
			for i, st := range steps {
				ch, err := s.RecordStatus(ctx, "pi_1", st.status, "evt", "webhook")
				if err != nil {
					t.Fatal(err)
				}
				if ch.Recorded != st.recorded || ch.Queued != st.queued || ch.Current != st.current {
					t.Errorf("step %d %s: %+v, want recorded %v queued %v current %s", i, st.status, ch, st.recorded, st.queued, st.current)
				}
			}
			got, err := s.ReadNotifications(ctx, "c", 10, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got[0].Status != "Captured" || got[1].Status != "Refunded" || got[0].IntentID != "pi_1" || got[0].Attempt != 1 {
				t.Errorf("queued %+v, want Captured then Refunded", got)
			}
			if _, err := s.RecordStatus(ctx, "pi_1", "Bogus", "e", "webhook"); err == nil {
				t.Errorf("an unknown status was recorded")
			}
		})
	}
}

// TestRecordStatusConcurrent: many deliveries of the same status at once queue one notice.
func TestRecordStatusConcurrent(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := store.New(b.rdb, store.Options{Prefix: uniquePrefix(t)})
			var queued atomic.Int32
			var wg sync.WaitGroup
			for range 50 {
				wg.Go(func() {
					ch, err := s.RecordStatus(ctx, "pi_c", "Captured", "evt", "webhook")
					if err != nil {
						t.Error(err)
					}
					if ch.Queued {
						queued.Add(1)
					}
				})
			}
			wg.Wait()
			if queued.Load() != 1 {
				t.Errorf("%d notices queued, want 1", queued.Load())
			}
		})
	}
}

func TestRetryPromoteAndDeadLetter(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Now()
			clock := func() time.Time { return now }
			s := store.New(b.rdb, store.Options{Prefix: uniquePrefix(t), Now: clock})
			s.EnsureGroup(ctx)
			s.RecordStatus(ctx, "pi_r", "Captured", "evt_1", "webhook")
			n, _ := s.ReadNotifications(ctx, "c1", 1, 0)
			if len(n) != 1 {
				t.Fatalf("read %d", len(n))
			}
			if err := s.Retry(ctx, n[0], now.Add(time.Minute), true); err != nil {
				t.Fatal(err)
			}
			bl, _ := s.Backlog(ctx)
			if bl.Pending != 0 || bl.Scheduled != 1 {
				t.Errorf("backlog %+v, want nothing pending and one scheduled", bl)
			}
			if moved, _ := s.PromoteDue(ctx, 10); moved != 0 {
				t.Errorf("promoted %d before it was due", moved)
			}
			now = now.Add(2 * time.Minute)
			if moved, _ := s.PromoteDue(ctx, 10); moved != 1 {
				t.Errorf("promoted %d when due, want 1", moved)
			}
			again, _ := s.ReadNotifications(ctx, "c1", 1, 0)
			if len(again) != 1 || again[0].Attempt != 2 || again[0].IntentID != "pi_r" || again[0].Status != "Captured" || again[0].EventID != "evt_1" {
				t.Fatalf("after retry: %+v, want attempt 2 of the same notice", again)
			}
			if err := s.DeadLetter(ctx, again[0], "gave up"); err != nil {
				t.Fatal(err)
			}
			dead, _ := s.DeadLetters(ctx)
			if len(dead) != 1 || dead[0]["reason"] != "gave up" || dead[0]["intent"] != "pi_r" {
				t.Errorf("dead letters %v", dead)
			}
			bl, _ = s.Backlog(ctx)
			if bl.Pending != 0 || bl.Scheduled != 0 || bl.Dead != 1 {
				t.Errorf("backlog %+v", bl)
			}
		})
	}
}

// TestClaimStale: a notice held by a consumer that went silent is taken over, and one
// whose consumer keeps touching it is not.
func TestClaimStale(t *testing.T) {
	for _, b := range backends(t) {
		if b.mr != nil {
			continue // idle times need real time in Redis; miniredis uses its own clock
		}
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := store.New(b.rdb, store.Options{Prefix: uniquePrefix(t)})
			s.EnsureGroup(ctx)
			s.RecordStatus(ctx, "pi_dead", "Captured", "e", "webhook")
			s.RecordStatus(ctx, "pi_busy", "Captured", "e", "webhook")
			dead, _ := s.ReadNotifications(ctx, "dead", 1, 0)
			busy, _ := s.ReadNotifications(ctx, "busy", 1, 0)
			if len(dead) != 1 || len(busy) != 1 {
				t.Fatal("could not read")
			}
			for range 3 {
				time.Sleep(100 * time.Millisecond)
				s.Touch(ctx, "busy", busy[0].EntryID)
			}
			got, err := s.ClaimStale(ctx, "rescuer", 250*time.Millisecond, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].IntentID != "pi_dead" || got[0].Deliveries != 2 {
				t.Errorf("claimed %+v, want only pi_dead, handed out twice", got)
			}
		})
	}
}

func TestOpenLinksAndLock(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := store.New(b.rdb, store.Options{Prefix: uniquePrefix(t)})
			now := time.Now()
			old := sampleLink("pi_old")
			old.CreatedAt = now.Add(-40 * 24 * time.Hour)
			fresh := sampleLink("pi_fresh")
			fresh.CreatedAt = now.Add(-time.Hour)
			paid := sampleLink("pi_paid")
			paid.CreatedAt = now.Add(-time.Minute)
			for _, l := range []store.Link{old, fresh, paid} {
				if err := s.SaveLink(ctx, l, "", 0); err != nil {
					t.Fatal(err)
				}
			}
			s.RecordStatus(ctx, "pi_paid", "Captured", "e", "webhook")
			ids, err := s.OpenLinks(ctx, now.Add(-31*24*time.Hour), 100)
			if err != nil || len(ids) != 1 || ids[0] != "pi_fresh" {
				t.Errorf("open links %v %v, want only pi_fresh", ids, err)
			}
			ok1, _ := s.TryLock(ctx, "reconcile", "a", time.Minute)
			ok2, _ := s.TryLock(ctx, "reconcile", "b", time.Minute)
			if !ok1 || ok2 {
				t.Errorf("lock taken %v then %v, want true then false", ok1, ok2)
			}
		})
	}
}
