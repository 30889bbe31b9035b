package bot

import (
	"context"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// waiters waits until n timers are pending on clock.
func waiters(t *testing.T, clock *clockwork.FakeClock, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := clock.BlockUntilContext(ctx, n); err != nil {
		t.Fatalf("waiting for %d timers: %v", n, err)
	}
}

// TestAdmissionWaits: a command over the bound waits for a slot and gets the next one
// freed; with none freed in time it is refused, and holds nothing.
func TestAdmissionWaits(t *testing.T) {
	clock := clockwork.NewFakeClock()
	a := newAdmission(2, clock)
	for i := range 2 {
		if !a.acquire(0) {
			t.Fatalf("slot %d of 2 was refused", i+1)
		}
	}
	if a.acquire(0) {
		t.Fatal("a third slot was given at once with a bound of 2")
	}
	third := make(chan bool, 1)
	go func() { third <- a.acquire(50 * time.Millisecond) }()
	waiters(t, clock, 1)
	clock.Advance(49 * time.Millisecond)
	select {
	case <-third:
		t.Fatal("the third command was answered before its wait was over")
	default:
	}
	clock.Advance(time.Millisecond)
	if <-third {
		t.Fatal("a third slot was given with a bound of 2")
	}
	if limit, inflight := a.state(); limit != 2 || inflight != 2 {
		t.Fatalf("after a refusal: bound %d, %d in flight; want 2, 2", limit, inflight)
	}

	got := make(chan bool, 2)
	for range 2 {
		go func() { got <- a.acquire(5 * time.Second) }()
	}
	waiters(t, clock, 2)
	a.release()
	if !<-got {
		t.Fatal("a waiting command did not get the freed slot")
	}
	select {
	case <-got:
		t.Fatal("two commands got one freed slot")
	default:
	}
	a.release()
	if !<-got {
		t.Fatal("the second waiting command did not get the next slot")
	}
	if _, inflight := a.state(); inflight != 2 {
		t.Errorf("%d in flight, want 2", inflight)
	}
}
