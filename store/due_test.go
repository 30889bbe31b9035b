package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/paylink/paylink/store"
)

// TestDueReminders: open links come due for a reminder oldest first, once each,
// whichever replica asks; closed links never; links created after the cutoff later.
func TestDueReminders(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { testDueReminders(t, b.rdb) })
	}
}

func testDueReminders(t *testing.T, rdb redis.UniversalClient) {
	prefix := uniquePrefix(t)
	s := store.New(rdb, store.Options{Prefix: prefix})
	ctx := context.Background()
	base := time.Now().Add(-48 * time.Hour).Truncate(time.Millisecond)
	for i, id := range []string{"pi_due_a", "pi_due_b", "pi_due_c", "pi_due_d"} {
		l := store.Link{IntentID: id, TeamID: "T1", ChannelID: "C1", UserID: "U1", Amount: 100, Currency: "GBP",
			Status: "Created", CreatedAt: base.Add(time.Duration(i) * time.Hour), ExpiresAt: base.Add(30 * 24 * time.Hour)}
		if err := s.SaveLink(ctx, l, nil, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	// pi_due_b is paid before it comes due.
	if _, err := s.RecordStatus(ctx, store.StatusEvent{IntentID: "pi_due_b", Status: "Captured", EventID: "e", Source: "webhook"}); err != nil {
		t.Fatal(err)
	}
	since := base.Add(-time.Hour)
	other := store.New(rdb, store.Options{Prefix: prefix}) // another replica
	var got []string
	for _, st := range []*store.Store{s, other, s} {
		ids, err := st.DueReminders(ctx, base.Add(2*time.Hour), since, 1)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ids...)
	}
	if want := []string{"pi_due_a", "pi_due_c"}; !slices.Equal(got, want) {
		t.Errorf("handed out %v, want %v (oldest first, once each, none closed)", got, want)
	}
	later, err := other.DueReminders(ctx, base.Add(5*time.Hour), since, 10)
	if err != nil || !slices.Equal(later, []string{"pi_due_d"}) {
		t.Errorf("after the cutoff moved: %v, %v; want [pi_due_d]", later, err)
	}
}

// TestDueExpiries: a link comes due at its expiry, once, to one caller; put back, it
// comes due again when asked to.
func TestDueExpiries(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { testDueExpiries(t, b.rdb) })
	}
}

func testDueExpiries(t *testing.T, rdb redis.UniversalClient) {
	s := store.New(rdb, store.Options{Prefix: uniquePrefix(t)})
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	for i, id := range []string{"pi_exp_a", "pi_exp_b"} {
		l := store.Link{IntentID: id, TeamID: "T1", ChannelID: "C1", UserID: "U1", Amount: 100, Currency: "GBP",
			Status: "Created", CreatedAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Duration(i) * time.Hour)}
		if err := s.SaveLink(ctx, l, nil, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	due, err := s.DueExpiries(ctx, now, 10)
	if err != nil || !slices.Equal(due, []string{"pi_exp_a"}) {
		t.Fatalf("due now: %v, %v", due, err)
	}
	if again, _ := s.DueExpiries(ctx, now, 10); len(again) != 0 {
		t.Errorf("handed out twice: %v", again)
	}
	if err := s.ExpireLater(ctx, "pi_exp_a", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	due, _ = s.DueExpiries(ctx, now.Add(2*time.Hour), 10)
	if !slices.Equal(due, []string{"pi_exp_a", "pi_exp_b"}) {
		t.Errorf("due later: %v", due)
	}
}
