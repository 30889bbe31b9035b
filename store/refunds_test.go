package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/paylink/paylink/store"
)

func TestRefundReservations(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := store.New(b.rdb, store.Options{Prefix: uniquePrefix(t)})
			l := sampleLink("pi_refunds")
			l.Status = "Captured"
			if err := s.SaveLink(ctx, l, nil, time.Minute); err != nil {
				t.Fatal(err)
			}
			at := time.UnixMilli(1_700_000_100_000).UTC()
			r := func(key, kind string, amount int64) store.Refund {
				return store.Refund{Key: key, Kind: kind, Amount: amount, User: "U2", At: at, Reason: "broken \x1f mug"}
			}
			steps := []struct {
				name     string
				refund   store.Refund
				reserved bool
				existing bool
				left     int64 // before this refund
			}{
				{"a reversal of less than the whole", r("rv1", store.KindReversal, 400), false, false, 1000},
				{"a refund of 4.00", r("k1", store.KindRefund, 400), true, false, 1000},
				{"the same key again", r("k1", store.KindRefund, 400), false, true, 0},
				{"more than is left", r("k2", store.KindRefund, 601), false, false, 600},
				{"a reversal once something is held", r("rv2", store.KindReversal, 1000), false, false, 600},
				{"zero", r("k3", store.KindRefund, 0), false, false, 600},
				{"all that is left", r("k4", store.KindRefund, 600), true, false, 600},
				{"a penny more", r("k5", store.KindRefund, 1), false, false, 0},
			}
			for _, st := range steps {
				res, err := s.ReserveRefund(ctx, l.IntentID, st.refund)
				if err != nil {
					t.Fatalf("%s: %v", st.name, err)
				}
				if res.Reserved != st.reserved || (res.Existing != nil) != st.existing || !st.existing && res.Left != st.left {
					t.Errorf("%s: ReserveRefund = %+v, want reserved %v, existing %v, left %d", st.name, res, st.reserved, st.existing, st.left)
				}
			}
			// Dojo refuses the last: its amount comes back.
			if err := s.ReleaseRefund(ctx, l.IntentID, r("k4", store.KindRefund, 600)); err != nil {
				t.Fatal(err)
			}
			done := r("k1", store.KindRefund, 400)
			done.DojoID = "rfnd_1"
			if ok, err := s.CompleteRefund(ctx, l.IntentID, done, "Refunded"); err != nil || !ok {
				t.Fatalf("CompleteRefund = %v, %v", ok, err)
			}
			if ok, _ := s.CompleteRefund(ctx, l.IntentID, done, "Refunded"); ok {
				t.Errorf("a refund completed twice")
			}
			got, err := s.Link(ctx, l.IntentID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != "Refunded" || got.StatusAt.IsZero() || got.RefundLeft() != 600 || got.Refunds.Refunded != 400 || got.Refunds.Held != 0 {
				t.Errorf("after a refund of 4.00: status %s, left %d, refunds %+v", got.Status, got.RefundLeft(), got.Refunds)
			}
			done.Done = true
			if len(got.Refunds.Entries) != 1 || got.Refunds.Entries[0] != done || !got.Refunds.FromSlack(store.KindRefund) || got.Refunds.FromSlack(store.KindReversal) {
				t.Errorf("entries = %+v, want %+v", got.Refunds.Entries, done)
			}
			// Dojo reports more refunded (a refund in its dashboard); never less.
			for _, n := range []int64{700, 500} {
				if err := s.NoteDojoRefunded(ctx, l.IntentID, n); err != nil {
					t.Fatal(err)
				}
			}
			got, _ = s.Link(ctx, l.IntentID)
			if got.Refunds.Total() != 700 || got.RefundLeft() != 300 {
				t.Errorf("after Dojo reported 7.00: total %d, left %d", got.Refunds.Total(), got.RefundLeft())
			}
			if _, err := s.ReserveRefund(ctx, "pi_gone", r("k", store.KindRefund, 1)); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("ReserveRefund of a missing record: %v, want ErrNotFound", err)
			}
		})
	}
}

// TestRefundsRaceForWhatIsLeft: refunds submitted at once never hold more than the
// amount, whoever wins.
func TestRefundsRaceForWhatIsLeft(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := store.New(b.rdb, store.Options{Prefix: uniquePrefix(t)})
			l := sampleLink("pi_race")
			if err := s.SaveLink(ctx, l, nil, time.Minute); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			won := 0
			for i := range 20 {
				wg.Go(func() {
					res, err := s.ReserveRefund(ctx, l.IntentID, store.Refund{Key: string(rune('a' + i)), Kind: store.KindRefund, Amount: 300, At: time.Now()})
					if err != nil {
						t.Error(err)
					}
					if res.Reserved {
						mu.Lock()
						won++
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if won != 3 {
				t.Errorf("%d refunds of 3.00 held of 10.00, want 3", won)
			}
		})
	}
}

func TestRetakeRefund(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := store.New(b.rdb, store.Options{Prefix: uniquePrefix(t)})
			l := sampleLink("pi_retake")
			if err := s.SaveLink(ctx, l, nil, time.Minute); err != nil {
				t.Fatal(err)
			}
			old := store.Refund{Key: "k", Kind: store.KindRefund, Amount: 100, At: time.UnixMilli(1000)}
			if _, err := s.ReserveRefund(ctx, l.IntentID, old); err != nil {
				t.Fatal(err)
			}
			next := old
			next.At = time.UnixMilli(2000)
			if ok, err := s.RetakeRefund(ctx, l.IntentID, old, next); err != nil || !ok {
				t.Fatalf("RetakeRefund = %v, %v", ok, err)
			}
			if ok, _ := s.RetakeRefund(ctx, l.IntentID, old, next); ok {
				t.Errorf("a refund retaken from a state it had left")
			}
		})
	}
}
