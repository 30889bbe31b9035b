package payments_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/jonboulle/clockwork"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/paylink/paylink/bot/payments"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/dojo/dojotest"
	"github.com/paylink/paylink/store"
)

// reconcileFixture is n open links, each paid at Dojo, and the parts a reconciler
// needs.
type reconcileFixture struct {
	st   *store.Store
	dojo *dojotest.Server
	ids  []string
}

func newReconcileFixture(t *testing.T, n int) *reconcileFixture {
	t.Helper()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	f := &reconcileFixture{st: store.New(rdb, store.Options{}), dojo: dojotest.NewServer(t, dojotest.WithAPIKey("sk_sandbox_rc"))}
	ctx := context.Background()
	now := time.Now().UTC()
	for i := range n {
		id := fmt.Sprintf("pi_sandbox_rc%03d", i)
		f.dojo.AddIntent(dojo.PaymentIntent{ID: id, Status: dojo.StatusCaptured, Amount: dojo.Money{Value: 100, CurrencyCode: "GBP"},
			Reference: id, CreatedAt: now})
		if err := f.st.SaveLink(ctx, store.Link{IntentID: id, TeamID: "T1", ChannelID: "C1", UserID: "U1", Amount: 100,
			Currency: "GBP", Reference: id, Status: "Created", CreatedAt: now.Add(time.Duration(i) * time.Millisecond)}, nil, 0); err != nil {
			t.Fatal(err)
		}
		f.ids = append(f.ids, id)
	}
	return f
}

func (f *reconcileFixture) reconciler(cfg payments.ReconcileConfig) *payments.Reconciler {
	return payments.NewReconciler(payments.Deps{Log: zerolog.Nop(), Store: f.st,
		Dojo: dojo.NewClient(dojo.Config{BaseURL: f.dojo.URL, APIKey: "sk_sandbox_rc"}), Reconcile: cfg})
}

// gets counts Dojo's GETs of intents.
func (f *reconcileFixture) gets() int {
	n := 0
	for _, r := range f.dojo.Requests() {
		if r.Method == "GET" && strings.Contains(r.Path, "/payment-intents/") {
			n++
		}
	}
	return n
}

// TestReconcileReachesEveryOpenLink: runs of a few links each continue where the last
// stopped, so every open link is checked within ceil(open/batch) runs.
func TestReconcileReachesEveryOpenLink(t *testing.T) {
	f := newReconcileFixture(t, 10)
	r := f.reconciler(payments.ReconcileConfig{Interval: time.Millisecond, Rate: 1000, Batch: 3})
	total := 0
	for range 4 {
		total += r.RunOnce(context.Background())
	}
	if total != 10 {
		t.Errorf("4 runs of 3 found %d payments, want all 10", total)
	}
	if n := f.gets(); n != 10 {
		t.Errorf("%d Dojo look-ups, want 10: each open link once", n)
	}
}

// TestReconcileOneReplicaAtATime: while one replica works through a run that outlasts
// its lock's TTL (the lock is renewed), the others never start one.
func TestReconcileOneReplicaAtATime(t *testing.T) {
	f := newReconcileFixture(t, 8)
	f.dojo.SetLatency(60 * time.Millisecond) // a run takes about 0.5 s, longer than the lock's TTL
	cfg := payments.ReconcileConfig{Interval: time.Millisecond, Rate: 1000, Batch: 100, LockTTL: 150 * time.Millisecond}
	first, other := f.reconciler(cfg), f.reconciler(cfg)
	ctx := context.Background()
	var wg sync.WaitGroup
	var found int
	wg.Go(func() { found = first.RunOnce(ctx) })
	for f.gets() == 0 {
		time.Sleep(time.Millisecond)
	}
	stolen := 0
	for f.gets() < 8 {
		stolen += other.RunOnce(ctx)
		time.Sleep(10 * time.Millisecond)
	}
	wg.Wait()
	if found != 8 || stolen != 0 {
		t.Errorf("the first run found %d, another replica %d, want 8 and 0", found, stolen)
	}
	if n := f.gets(); n != 8 {
		t.Errorf("%d Dojo look-ups, want 8: no link checked twice", n)
	}
}

// TestReconcileRunsEachIntervalByItsClock: Run checks nothing until its clock has
// moved on by the interval, then reconciles.
func TestReconcileRunsEachIntervalByItsClock(t *testing.T) {
	f := newReconcileFixture(t, 3)
	clock := clockwork.NewFakeClock()
	r := payments.NewReconciler(payments.Deps{Log: zerolog.Nop(), Store: f.st, Clock: clock,
		Dojo:      dojo.NewClient(dojo.Config{BaseURL: f.dojo.URL, APIKey: "sk_sandbox_rc"}),
		Reconcile: payments.ReconcileConfig{Interval: time.Hour, Rate: 1000, Batch: 100}})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		r.Run(ctx)
	}()
	defer func() { cancel(); <-stopped }()
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if err := clock.BlockUntilContext(wctx, 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour - time.Nanosecond)
	if n := f.gets(); n != 0 {
		t.Fatalf("%d Dojo look-ups before the interval was over", n)
	}
	clock.Advance(time.Nanosecond)
	deadline := time.Now().Add(10 * time.Second)
	for f.gets() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 3 open links checked once the interval was over", f.gets())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
