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

// dueFixture is a store, a fake Dojo and a fake Slack, on a clock the test moves.
type dueFixture struct {
	rdb   *redis.Client
	st    *store.Store
	dojo  *dojotest.Server
	slack *fakeslack.Server
	clock *clockwork.FakeClock
	deps  payments.Deps
}

func newDueFixture(t *testing.T, cfg payments.DueConfig) *dueFixture {
	t.Helper()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	clock := clockwork.NewFakeClockAt(time.Now().Truncate(time.Millisecond))
	f := &dueFixture{rdb: rdb, st: store.New(rdb, store.Options{Now: clock.Now}), dojo: dojotest.NewServer(t, dojotest.WithAPIKey("sk_sandbox_due")),
		slack: fakeslack.New(t), clock: clock}
	f.deps = payments.Deps{Log: zerolog.Nop(), Store: f.st, Clock: clock, CheckoutURL: "https://pay.dojo.tech/checkout/",
		Dojo: dojo.NewClient(dojo.Config{BaseURL: f.dojo.URL, APIKey: "sk_sandbox_due"}),
		Chat: slackout.NewChat(http.DefaultClient, f.slack.APIURL(), "xoxb-test"), Due: cfg}
	return f
}

// runNotifier runs a notifier with cfg on the fixture until the test ends.
func (f *dueFixture) runNotifier(t *testing.T, cfg payments.NotifyConfig) *payments.Notifier {
	deps := f.deps
	deps.Notify = cfg
	n := payments.NewNotifier(deps)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	t.Cleanup(func() { stop(); <-done })
	return n
}

// link records an open link made now, posted as a card, expiring after expires.
func (f *dueFixture) link(t *testing.T, id, ref string, expires time.Duration) {
	t.Helper()
	now := f.clock.Now().UTC()
	f.dojo.AddIntent(dojo.PaymentIntent{ID: id, Status: dojo.StatusCreated, Amount: dojo.Money{Value: 1000, CurrencyCode: "GBP"},
		Reference: ref, CreatedAt: now, ExpireAt: new(now.Add(expires))})
	l := store.Link{IntentID: id, TeamID: "T1", ChannelID: "C1", UserID: "U1", Amount: 1000, Currency: "GBP", Reference: ref,
		Status: "Created", CreatedAt: now, ExpiresAt: now.Add(expires)}
	if err := f.st.SaveLink(context.Background(), l, nil, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.st.LinkPosted(context.Background(), id, "C1", "1700000000.0001", store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
}

// TestRemindOnce: a link unpaid after RemindAfter gets one reminder in its card's
// thread, mentioning its agent, with Cancel link, whichever replica sweeps; a paid
// link, none.
func TestRemindOnce(t *testing.T) {
	f := newDueFixture(t, payments.DueConfig{RemindAfter: 24 * time.Hour})
	f.link(t, "pi_sandbox_unpaid", "ref <b>1</b>", 30*24*time.Hour)
	f.link(t, "pi_sandbox_paid", "ref-2", 30*24*time.Hour)
	f.dojo.SetStatus("pi_sandbox_paid", dojo.StatusCaptured)
	one, other := payments.NewSweeper(f.deps), payments.NewSweeper(f.deps)
	ctx := context.Background()

	f.clock.Advance(23 * time.Hour)
	if _, n := one.RunOnce(ctx); n != 0 {
		t.Fatalf("%d reminders before a day had passed", n)
	}
	f.clock.Advance(time.Hour)
	_, n1 := one.RunOnce(ctx)
	_, n2 := other.RunOnce(ctx)
	_, n3 := one.RunOnce(ctx)
	if n1+n2+n3 != 1 {
		t.Fatalf("%d, %d, %d reminders, want one in all", n1, n2, n3)
	}
	posts := f.slack.Calls("chat.postMessage")
	if len(posts) != 1 {
		t.Fatalf("%d posts, want 1", len(posts))
	}
	p := posts[0]
	if p.Channel != "C1" || p.ThreadTS != "1700000000.0001" || !strings.Contains(p.Text, "<@U1>") ||
		!strings.Contains(p.Text, "still unpaid, 1 day after") || !strings.Contains(p.Text, "&lt;b&gt;") ||
		!strings.Contains(string(p.Blocks), `"cancel_link"`) {
		t.Errorf("reminder = %+v", p)
	}
}

// TestRemindersOff: with no RemindAfter, nothing is posted however long links wait.
func TestRemindersOff(t *testing.T) {
	f := newDueFixture(t, payments.DueConfig{})
	f.link(t, "pi_sandbox_quiet", "ref-q", 30*24*time.Hour)
	f.clock.Advance(10 * 24 * time.Hour)
	if _, n := payments.NewSweeper(f.deps).RunOnce(context.Background()); n != 0 || len(f.slack.Calls("chat.postMessage")) != 0 {
		t.Errorf("%d reminders with reminders off", n)
	}
}

// TestExpirySweep: a link past its expiry, still unpaid at Dojo, is recorded Expired
// once (its notice and card follow through the notifier); one Dojo extended is looked
// at again at the new expiry; one Dojo could not answer about, a minute later.
func TestExpirySweep(t *testing.T) {
	f := newDueFixture(t, payments.DueConfig{})
	f.link(t, "pi_sandbox_exp", "ref-e", time.Hour)
	f.link(t, "pi_sandbox_ext", "ref-x", time.Hour)
	f.link(t, "pi_sandbox_down", "ref-d", 2*time.Hour)
	later := f.clock.Now().Add(5 * time.Hour)
	f.dojo.SetExpireAt("pi_sandbox_ext", later)
	s := payments.NewSweeper(f.deps)
	ctx := context.Background()

	f.clock.Advance(time.Hour + time.Second)
	if n, _ := s.RunOnce(ctx); n != 1 {
		t.Fatalf("%d expired, want 1", n)
	}
	ch, err := f.st.RecordStatus(ctx, store.StatusEvent{IntentID: "pi_sandbox_exp", Status: store.StatusExpired, EventID: "probe", Source: "test"})
	if err != nil || ch.Recorded {
		t.Errorf("Expired was not recorded: %+v, %v", ch, err)
	}
	if n, _ := s.RunOnce(ctx); n != 0 {
		t.Errorf("expired again: %d", n)
	}

	f.dojo.FailNext(3, 503, "{}")
	f.clock.Advance(time.Hour)
	if n, _ := s.RunOnce(ctx); n != 0 {
		t.Fatalf("%d expired while Dojo failed", n)
	}
	f.clock.Advance(time.Minute)
	if n, _ := s.RunOnce(ctx); n != 1 {
		t.Errorf("the link Dojo failed about: %d expired a minute later, want 1", n)
	}
	f.clock.Advance(3 * time.Hour)
	if n, _ := s.RunOnce(ctx); n != 1 {
		t.Errorf("the extended link: %d expired at its new expiry, want 1", n)
	}
}
