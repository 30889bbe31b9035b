package payments_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

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
