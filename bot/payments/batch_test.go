package payments_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/jonboulle/clockwork"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/paylink/paylink/bot/fakeslack"
	"github.com/paylink/paylink/bot/payments"
	"github.com/paylink/paylink/bot/slackout"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/dojo/dojotest"
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
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	clock := clockwork.NewFakeClockAt(time.Now().Truncate(time.Millisecond))
	st := store.New(rdb, store.Options{Now: clock.Now})
	fd := dojotest.NewServer(t, dojotest.WithAPIKey("sk_sandbox_batch"))
	slack := fakeslack.New(t)
	ctx := context.Background()
	ids := []string{"pi_sandbox_b1", "pi_sandbox_b2", "pi_sandbox_b3"}
	for i, id := range ids {
		now := clock.Now().UTC()
		fd.AddIntent(dojo.PaymentIntent{ID: id, Status: dojo.StatusCaptured, Amount: dojo.Money{Value: 1000, CurrencyCode: "GBP"},
			Reference: "ref-b", CreatedAt: now})
		l := store.Link{IntentID: id, TeamID: "T1", ChannelID: "C1", UserID: "U1", Amount: 1000, Currency: "GBP",
			Reference: "ref-b" + string(rune('1'+i)), Status: "Created", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := st.SaveLink(ctx, l, nil, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := st.RecordStatus(ctx, store.StatusEvent{IntentID: id, Status: "Captured", EventID: "evt_" + id, Source: "webhook"}); err != nil {
			t.Fatal(err)
		}
	}
	slack.Fail("chat.postMessage", fakeslack.Failure{Status: 429, RetryAfter: 30, Times: 1})
	claimIdle := 3 * time.Second
	n := payments.NewNotifier(payments.Deps{Log: zerolog.Nop(), Store: st, Clock: clock, CheckoutURL: "https://pay.dojo.tech/checkout/",
		Dojo:   dojo.NewClient(dojo.Config{BaseURL: fd.URL, APIKey: "sk_sandbox_batch"}),
		Chat:   slackout.NewChat(http.DefaultClient, slack.APIURL(), "xoxb-test"),
		Notify: payments.NotifyConfig{Workers: 1, ClaimIdle: claimIdle, MaxWait: time.Minute}})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { n.Run(runCtx); close(done) }()
	t.Cleanup(func() { stop(); <-done })

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
