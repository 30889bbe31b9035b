package payments_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/paylink/paylink/bot/fakeslack"
	"github.com/paylink/paylink/bot/payments"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/store"
)

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

// TestBatchStaysClaimed: a worker takes the notices waiting in one read and keeps every
// one of them claimed while it works through them, so one waiting out Slack's
// Retry-After does not leave the others looking abandoned; then each is posted once.
func TestBatchStaysClaimed(t *testing.T) {
	f := newDueFixture(t, payments.DueConfig{})
	rdb, st, clock, fd, slack := f.rdb, f.st, f.clock, f.dojo, f.slack
	ctx := context.Background()
	ids := []string{"pi_sandbox_b1", "pi_sandbox_b2", "pi_sandbox_b3"}
	for _, id := range ids {
		f.link(t, id, "ref-"+id, time.Hour)
		fd.SetStatus(id, dojo.StatusCaptured)
		if _, err := st.RecordStatus(ctx, store.StatusEvent{IntentID: id, Status: "Captured", EventID: "evt_" + id, Source: "webhook"}); err != nil {
			t.Fatal(err)
		}
	}
	slack.Fail("chat.postMessage", fakeslack.Failure{Status: 429, RetryAfter: 30, Times: 1})
	claimIdle := 3 * time.Second
	f.runNotifier(t, payments.NotifyConfig{Workers: 1, ClaimIdle: claimIdle, MaxWait: time.Minute})

	pending := func() []redis.XPendingExt {
		p, _ := rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: "paylink:{events}:notify", Group: store.NotifyGroup,
			Start: "-", End: "+", Count: 10}).Result()
		return p
	}
	waitUntil(t, "the first notice meets Slack's rate limit", func() bool {
		for _, c := range slack.AllCalls() {
			if c.Failed == "ratelimited" {
				return true
			}
		}
		return false
	})
	p := pending()
	if len(p) != 3 || p[0].Consumer != p[2].Consumer {
		t.Fatalf("pending %+v, want all three notices with one consumer: one read", p)
	}
	// Real time passes for Redis's idle clock; the heartbeat, on the notifier's clock,
	// then renews every notice of the batch, not only the one being posted.
	time.Sleep(time.Second)
	clock.Advance(claimIdle/3 + time.Millisecond)
	waitUntil(t, "the heartbeat renews the whole batch", func() bool {
		p := pending()
		for _, e := range p {
			if e.Idle >= 900*time.Millisecond {
				return false
			}
		}
		return len(p) == 3
	})
	clock.Advance(30 * time.Second)
	waitUntil(t, "three Paid notices", func() bool {
		paid := 0
		for _, c := range slack.Calls("chat.postMessage") {
			if c.Failed == "" && strings.Contains(c.Text, "Paid") {
				paid++
			}
		}
		return paid == 3
	})
	waitUntil(t, "every notice acknowledged", func() bool { return len(pending()) == 0 })
	paid := 0
	for _, c := range slack.Calls("chat.postMessage") {
		if c.Failed == "" && strings.Contains(c.Text, "Paid") {
			paid++
		}
	}
	if paid != 3 {
		t.Errorf("%d Paid notices, want 3", paid)
	}
}

// lockedBuffer is a log sink safe for the notifier's goroutines and the test's.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestStalledRedisDoesNotHandANoticeToItsOwnProcess: Redis stalls while a worker is
// posting a notice, for longer than ClaimIdle, so the worker's renewals don't land and
// the notice looks idle to a take-over queued behind the stall. The take-over gets the
// notice, but the process's own worker has it in hand and is alive: it is left with the
// worker, which posts it once.
func TestStalledRedisDoesNotHandANoticeToItsOwnProcess(t *testing.T) {
	f := newDueFixture(t, payments.DueConfig{})
	rdb, st, clock, slack := f.rdb, f.st, f.clock, f.slack
	ctx := context.Background()
	const id = "pi_sandbox_stall"
	f.link(t, id, "ref-stall", time.Hour)
	f.dojo.SetStatus(id, dojo.StatusCaptured)
	if _, err := st.RecordStatus(ctx, store.StatusEvent{IntentID: id, Status: "Captured", EventID: "evt_stall", Source: "webhook"}); err != nil {
		t.Fatal(err)
	}
	// The worker's post is held in Slack until the test lets it go; any later post
	// (a second "Paid") is answered at once.
	posting, release := make(chan struct{}), make(chan struct{})
	var posts atomic.Int32
	slack.OnCall(func(c fakeslack.Call) {
		if c.Method == "chat.postMessage" && strings.Contains(c.Text, "Paid") && posts.Add(1) == 1 {
			close(posting)
			<-release
		}
	})
	logs := &lockedBuffer{}
	f.deps.Log = zerolog.New(logs)
	const claimIdle = time.Second
	f.runNotifier(t, payments.NotifyConfig{Workers: 1, ClaimIdle: claimIdle})
	var released sync.Once
	let := func() { released.Do(func() { close(release) }) }
	t.Cleanup(let) // before the notifier is stopped, should the test end early
	select {
	case <-posting:
	case <-time.After(10 * time.Second):
		t.Fatal("the worker did not post the notice")
	}

	// Redis's idle clock runs on real time; the notifier's heartbeat and take-over
	// loop on the fake clock. Real time past ClaimIdle with no renewal is what a stall
	// looks like to Redis; a quarter of ClaimIdle on the fake clock runs the take-over
	// loop (every ClaimIdle/4) but not the heartbeat (every ClaimIdle/3).
	time.Sleep(claimIdle + 100*time.Millisecond)
	clock.Advance(claimIdle / 4)
	paid := func() int {
		n := 0
		for _, c := range slack.Calls("chat.postMessage") {
			if c.Failed == "" && strings.Contains(c.Text, "Paid") {
				n++
			}
		}
		return n
	}
	// The held post is not counted until Slack answers it: a Paid seen now is the
	// take-over's.
	waitUntil(t, "the take-over to find the notice idle", func() bool {
		return strings.Contains(logs.String(), "left with its worker") || paid() > 0
	})
	let()
	waitUntil(t, "the notice recorded and acknowledged", func() bool {
		p, err := rdb.XPending(ctx, "paylink:{events}:notify", store.NotifyGroup).Result()
		return err == nil && p.Count == 0
	})
	if n := paid(); n != 1 {
		t.Errorf("%d Paid notices, want 1\n%s", n, logs.String())
	}
}

// TestSettledNoticesLeaveHand: a notice is in hand (kept from this process's take-over)
// only until it is settled: posted and acknowledged, dropped, or moved to the retries.
// One left in hand would never be taken over here, even once its worker had given it up.
func TestSettledNoticesLeaveHand(t *testing.T) {
	f := newDueFixture(t, payments.DueConfig{})
	ctx := context.Background()
	paid, unconfirmed := "pi_sandbox_hand_paid", "pi_sandbox_hand_unconfirmed"
	f.link(t, paid, "ref-paid", time.Hour)
	f.link(t, unconfirmed, "ref-unconfirmed", time.Hour) // Dojo still reports it Created: retried
	f.dojo.SetStatus(paid, dojo.StatusCaptured)
	for _, id := range []string{paid, unconfirmed, "pi_sandbox_hand_unknown"} { // the last: no record, dropped
		if _, err := f.st.RecordStatus(ctx, store.StatusEvent{IntentID: id, Status: "Captured", EventID: "evt_" + id, Source: "webhook"}); err != nil {
			t.Fatal(err)
		}
	}
	n := f.runNotifier(t, payments.NotifyConfig{Workers: 1})
	waitUntil(t, "every notice settled", func() bool {
		p, err := f.rdb.XPending(ctx, "paylink:{events}:notify", store.NotifyGroup).Result()
		return err == nil && p.Count == 0 && len(f.slack.Calls("chat.postMessage")) == 1
	})
	waitUntil(t, "no notice left in hand", func() bool { return n.InHand() == 0 })
	if due, err := f.rdb.ZCard(ctx, "paylink:{events}:retry").Result(); err != nil || due != 1 {
		t.Errorf("%d notices waiting to be retried (%v), want the unconfirmed one", due, err)
	}
}
