package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/paylink/paylink/store"
)

// TestRefusalsCannotFlushMoneyEvents: one user refusing themselves thousands of times
// writes a bounded number of refusals, the same refusal once per window, and never
// pushes a money event out of the trail.
func TestRefusalsCannotFlushMoneyEvents(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := store.New(b.rdb, store.Options{Prefix: uniquePrefix(t)})
			start := time.Now().Add(-time.Second)
			created := store.AuditEvent{Event: "created", Team: "T1", User: "U1", Amount: 1000, Currency: "GBP", Reference: "r", Intent: "pi_1"}
			if err := s.Audit(ctx, created); err != nil {
				t.Fatal(err)
			}
			for i := range 500 {
				e := store.AuditEvent{Event: "refused", Team: "T1", User: "U666", Amount: int64(i), Currency: "GBP", Reference: "spam", Detail: "over the cap"}
				if err := s.Audit(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
			for range 10 {
				s.Audit(ctx, store.AuditEvent{Event: "refused", Team: "T1", User: "U2", Reference: "same", Detail: "not allowed"})
			}
			got, err := s.AuditSince(ctx, start)
			if err != nil {
				t.Fatal(err)
			}
			count := map[string]int{}
			for _, e := range got {
				count[e.Event+":"+e.User]++
			}
			if count["created:U1"] != 1 {
				t.Errorf("the created event is gone: %v", count)
			}
			if n := count["refused:U666"]; n != store.RefusalLimit {
				t.Errorf("%d refusals written for one user in a window, want the limit %d", n, store.RefusalLimit)
			}
			if n := count["refused:U2"]; n != 1 {
				t.Errorf("the same refusal 10 times wrote %d entries, want 1", n)
			}
		})
	}
}

// TestMoneyEventsKeptByAge: money events stay for AuditRetention, however many
// there are, and go after it.
func TestMoneyEventsKeptByAge(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := &fakeClock{now: t0}
	s := store.New(rdb, store.Options{Now: clock.Now})
	write := func(ref string) {
		t.Helper()
		mr.SetTime(clock.Now()) // Redis stamps stream entries with its own clock
		if err := s.Audit(ctx, store.AuditEvent{Event: "paid", Team: "T1", User: "U1", Reference: ref}); err != nil {
			t.Fatal(err)
		}
	}
	write("old")
	clock.Add(store.AuditRetention - time.Hour)
	write("kept-1")
	got, _ := s.AuditSince(ctx, t0.Add(-time.Hour))
	if len(got) != 2 {
		t.Fatalf("after %v: %d events, want both", store.AuditRetention-time.Hour, len(got))
	}
	clock.Add(2 * time.Hour)
	write("kept-2")
	got, _ = s.AuditSince(ctx, t0.Add(-time.Hour))
	var refs []string
	for _, e := range got {
		refs = append(refs, e.Reference)
	}
	if fmt.Sprint(refs) != "[kept-1 kept-2]" {
		t.Errorf("events = %v, want the one older than %v gone", refs, store.AuditRetention)
	}
}
