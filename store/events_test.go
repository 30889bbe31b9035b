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
				ch, err := s.RecordStatus(ctx, store.StatusEvent{IntentID: "pi_1", Status: st.status, EventID: "evt", Source: "webhook"})
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
			if _, err := s.RecordStatus(ctx, store.StatusEvent{IntentID: "pi_1", Status: "Bogus", EventID: "e", Source: "webhook"}); err == nil {
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
					ch, err := s.RecordStatus(ctx, store.StatusEvent{IntentID: "pi_c", Status: "Captured", EventID: "evt", Source: "webhook"})
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
			s.RecordStatus(ctx, store.StatusEvent{IntentID: "pi_r", Status: "Captured", EventID: "evt_1", Source: "webhook"})
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
			s.RecordStatus(ctx, store.StatusEvent{IntentID: "pi_dead", Status: "Captured", EventID: "e", Source: "webhook"})
			s.RecordStatus(ctx, store.StatusEvent{IntentID: "pi_busy", Status: "Captured", EventID: "e", Source: "webhook"})
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
				if err := s.SaveLink(ctx, l, nil, 0); err != nil {
					t.Fatal(err)
				}
			}
			s.RecordStatus(ctx, store.StatusEvent{IntentID: "pi_paid", Status: "Captured", EventID: "e", Source: "webhook"})
			ids, next, err := s.OpenLinks(ctx, now.Add(-31*24*time.Hour), "", 100)
			if err != nil || len(ids) != 1 || ids[0].IntentID != "pi_fresh" || next != "" {
				t.Errorf("open links %v %q %v, want only pi_fresh and no cursor", ids, next, err)
			}
			ok1, _ := s.TryLock(ctx, "reconcile", "a", time.Minute)
			ok2, _ := s.TryLock(ctx, "reconcile", "b", time.Minute)
			if !ok1 || ok2 {
				t.Errorf("lock taken %v then %v, want true then false", ok1, ok2)
			}
			if held, err := s.ExtendLock(ctx, "reconcile", "a", time.Hour); !held || err != nil {
				t.Errorf("holder extends: %v %v, want true", held, err)
			}
			if held, _ := s.ExtendLock(ctx, "reconcile", "b", time.Hour); held {
				t.Errorf("another token extended the lock")
			}
		})
	}
}

func TestClaimReplayRateAndDuplicates(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := store.New(b.rdb, store.Options{Prefix: uniquePrefix(t)})
			rate := store.RateCheck{Team: "T1", User: "U1", Limit: 2, Window: time.Hour}
			claim := func(fp, sig, ref string) store.Claim {
				c, err := s.ClaimCommand(ctx, store.ClaimRequest{Fingerprint: fp, Token: fp, PendingTTL: time.Minute,
					Signature: sig, Dup: store.DupCheck{Team: "T1", Reference: ref}, Rate: rate})
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			a := claim("a", "sig-a", "ref-a")
			if !a.Won {
				t.Fatalf("first = %+v", a)
			}
			if c := claim("a2", "sig-a", "ref-other"); !c.Replayed {
				t.Errorf("same signature again = %+v, want replayed", c)
			}
			l := sampleLink("pi_a")
			l.Reference, l.TeamID, l.CreatedAt = "REF-A", "T1", time.Now()
			s.SaveLink(ctx, l, &a, time.Minute)
			if c := claim("b", "sig-b", "ref-a"); len(c.Open) != 1 || c.Open[0] != "pi_a" {
				t.Errorf("same reference while open = %+v, want pi_a listed", c)
			}
			// The refused duplicate did not count: one more link is allowed.
			bc := claim("c", "sig-c", "ref-c")
			if !bc.Won {
				t.Fatalf("second link = %+v, want won", bc)
			}
			if c := claim("d", "sig-d", "ref-d"); !c.Limited || c.RetryAfter <= 0 {
				t.Errorf("third link in the hour = %+v, want limited", c)
			}
			// A link that failed gives its count back.
			s.ReleaseCommand(ctx, bc)
			if c := claim("e", "sig-e", "ref-e"); !c.Won {
				t.Errorf("after a release = %+v, want won", c)
			}
			// Paid: the reference is free again.
			s.RecordStatus(ctx, store.StatusEvent{IntentID: "pi_a", Status: "Captured", EventID: "e", Source: "webhook",
				Origin: store.Origin{Team: "T1", Reference: "Ref-A"}})
			rate.Limit = 0
			if c := claim("f", "sig-f", "ref-a"); !c.Won {
				t.Errorf("reference of a paid link = %+v, want won", c)
			}
			if seen, _ := s.SeenSignature(ctx, "sig-x"); seen {
				t.Errorf("a new signature was seen")
			}
			if seen, _ := s.SeenSignature(ctx, "sig-x"); !seen {
				t.Errorf("a repeated signature was not seen")
			}
		})
	}
}

func TestAuditTrail(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := store.New(b.rdb, store.Options{Prefix: uniquePrefix(t)})
			start := time.Now().Add(-time.Second)
			for _, ev := range []string{"created", "paid"} {
				if err := s.Audit(ctx, store.AuditEvent{Event: ev, Team: "T1", User: "U1", Amount: 1000, Currency: "GBP", Reference: "r", Intent: "pi_1"}); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.AuditSince(ctx, start)
			if err != nil || len(got) != 2 || got[0].Event != "created" || got[1].Amount != 1000 || got[1].At.Before(start) {
				t.Errorf("audit = %+v, %v", got, err)
			}
			if later, _ := s.AuditSince(ctx, time.Now().Add(time.Hour)); len(later) != 0 {
				t.Errorf("audit since the future = %v", later)
			}
		})
	}
}

// TestPruneConsumers: consumers that hold nothing and have been idle long are removed;
// one still holding a notice stays.
func TestPruneConsumers(t *testing.T) {
	for _, b := range backends(t) {
		if b.mr != nil {
			continue // idle times need real time in Redis
		}
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := store.New(b.rdb, store.Options{Prefix: uniquePrefix(t)})
			s.EnsureGroup(ctx)
			s.RecordStatus(ctx, store.StatusEvent{IntentID: "pi_p", Status: "Captured", EventID: "e", Source: "webhook"})
			s.RecordStatus(ctx, store.StatusEvent{IntentID: "pi_q", Status: "Captured", EventID: "e", Source: "webhook"})
			s.ReadNotifications(ctx, "holder", 1, 0)
			done, _ := s.ReadNotifications(ctx, "empty", 1, 0)
			if len(done) != 1 {
				t.Fatal("nothing to read")
			}
			s.Ack(ctx, done[0].EntryID)
			time.Sleep(150 * time.Millisecond)
			n, err := s.PruneConsumers(ctx, 100*time.Millisecond)
			if err != nil || n != 1 {
				t.Fatalf("pruned %d, %v; want 1", n, err)
			}
			if n, _ := s.PruneConsumers(ctx, 0); n != 0 {
				t.Errorf("pruned a consumer still holding a notice")
			}
		})
	}
}

// TestReadAcknowledgesDelivered: a read acknowledges what the consumer delivered since
// its last, in the same round trip when a notification is waiting, and still when none is.
func TestReadAcknowledgesDelivered(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := store.New(b.rdb, store.Options{Prefix: uniquePrefix(t)})
			if err := s.EnsureGroup(ctx); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"pi_a", "pi_b"} {
				if _, err := s.RecordStatus(ctx, store.StatusEvent{IntentID: id, Status: "Captured", EventID: "e", Source: "webhook"}); err != nil {
					t.Fatal(err)
				}
			}
			pending := func() int64 {
				t.Helper()
				bl, err := s.Backlog(ctx)
				if err != nil {
					t.Fatal(err)
				}
				return bl.Pending
			}
			first, err := s.ReadNotifications(ctx, "c", 1, time.Millisecond)
			if err != nil || len(first) != 1 || first[0].IntentID != "pi_a" {
				t.Fatalf("first read: %+v, %v", first, err)
			}
			second, err := s.ReadNotifications(ctx, "c", 1, time.Millisecond, first[0].EntryID)
			if err != nil || len(second) != 1 || second[0].IntentID != "pi_b" {
				t.Fatalf("second read: %+v, %v", second, err)
			}
			if p := pending(); p != 1 {
				t.Errorf("%d pending after the second read, want 1 (pi_b)", p)
			}
			none, err := s.ReadNotifications(ctx, "c", 1, time.Millisecond, second[0].EntryID)
			if err != nil || len(none) != 0 {
				t.Fatalf("third read: %+v, %v", none, err)
			}
			if p := pending(); p != 0 {
				t.Errorf("%d pending after the last read, want 0", p)
			}
		})
	}
}
