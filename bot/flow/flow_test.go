package flow

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/jonboulle/clockwork"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/paylink/paylink/bot/payments"
	"github.com/paylink/paylink/bot/policy"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/dojo/dojotest"
	"github.com/paylink/paylink/store"
)

const testKey = "sk_sandbox_flow"

// rig is a Service on a real store (miniredis) and the real Dojo client against the
// fake Dojo.
type rig struct {
	*Service
	mr    *miniredis.Miniredis
	rdb   *redis.Client
	st    *store.Store
	dojo  *dojotest.Server
	clock *clockwork.FakeClock
}

var log = zerolog.Nop()

func newRig(t *testing.T, cfg Config, dojoOpts ...func(*dojo.Config)) *rig {
	t.Helper()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	r := &rig{mr: mr, rdb: rdb, dojo: dojotest.NewServer(t, dojotest.WithAPIKey(testKey)), clock: clockwork.NewFakeClockAt(time.Now())}
	r.st = store.New(rdb, store.Options{})
	dc := dojo.Config{BaseURL: r.dojo.URL, APIKey: testKey}
	for _, o := range dojoOpts {
		o(&dc)
	}
	if reflect.ValueOf(cfg.MaxAmounts).IsZero() {
		cfg.MaxAmounts, _ = policy.ParseMaxAmounts("")
	}
	if cfg.WorkTimeout == 0 {
		cfg.WorkTimeout = time.Minute
	}
	if cfg.RetypeWindow == 0 {
		cfg.RetypeWindow = 10 * time.Minute
	}
	n := 0
	var mu sync.Mutex
	autoAdvance(t, r.clock)
	r.Service = New(Deps{Config: cfg, Dojo: dojo.NewClient(dc), Store: r.st, Clock: r.clock,
		NewID: func() string {
			mu.Lock()
			defer mu.Unlock()
			n++
			return "id-" + string(rune('a'+n%26)) + time.Now().Format("150405.000000000")
		}})
	return r
}

// autoAdvance moves clock on whenever something waits on it: the waits between
// searches for a timed-out intent pass at once.
func autoAdvance(t *testing.T, clock *clockwork.FakeClock) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for clock.BlockUntilContext(ctx, 1) == nil {
			clock.Advance(time.Second)
		}
	}()
}

var (
	agent   = Origin{Team: "T1", Channel: "C1", User: "U1", ResponseURL: "https://hooks.slack.com/commands/T1/1/x"}
	other   = Origin{Team: "T1", Channel: "C2", User: "U2", ResponseURL: "https://hooks.slack.com/commands/T1/2/y"}
	tenGBP  = Order{Amount: dojo.Money{Value: 1000, CurrencyCode: "GBP"}, Reference: "ref-1"}
	bgCtx   = context.Background()
	reqSeq  int
	reqSeqM sync.Mutex
)

// request is a new request (its own id and signature) for order from from.
func request(from Origin, order Order) CreateRequest {
	reqSeqM.Lock()
	defer reqSeqM.Unlock()
	reqSeq++
	id := time.Now().Format("150405.000000000") + string(rune('a'+reqSeq%26))
	return CreateRequest{From: from, Order: order, RequestID: "req-" + id, Signature: "sig-" + id}
}

func (r *rig) audits(t *testing.T) []store.AuditEvent {
	t.Helper()
	events, err := r.st.AuditSince(bgCtx, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// recorded reports whether the store holds status for intent (its notice queued).
func (r *rig) recorded(t *testing.T, intent string, status dojo.Status) bool {
	t.Helper()
	ch, err := r.st.RecordStatus(bgCtx, store.StatusEvent{IntentID: intent, Status: string(status), EventID: "probe", Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return !ch.Recorded && ch.Current == string(status)
}

func (r *rig) create(t *testing.T, req CreateRequest, want Outcome) Result {
	t.Helper()
	res := r.Create(bgCtx, log, req)
	if res.Outcome != want {
		t.Fatalf("Create(%+v) = %v (%v), want %v", req.Order, res.Outcome, res.Err, want)
	}
	return res
}

// TestCreateRecordsTheLink: a link is made at Dojo with the agent's order and the
// Slack ids in metadata, and recorded before Create returns.
func TestCreateRecordsTheLink(t *testing.T) {
	for _, tt := range []struct {
		name    string
		expires time.Duration
		want    time.Duration // the record's expiry after its creation
	}{
		{"Dojo's default expiry", 0, DefaultExpiry},
		{"--expires", 24 * time.Hour, 24 * time.Hour},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, Config{PaymentSource: "payment-links", TestMode: true})
			order := tenGBP
			order.Expires = tt.expires
			res := r.create(t, request(agent, order), Created)
			rec, err := r.st.Link(bgCtx, res.Link.IntentID)
			if err != nil {
				t.Fatalf("no record: %v", err)
			}
			if rec.TeamID != "T1" || rec.ChannelID != "C1" || rec.UserID != "U1" || rec.Amount != 1000 || rec.Currency != "GBP" ||
				rec.Reference != "ref-1" || rec.Status != string(dojo.StatusCreated) || !rec.TestMode || rec.ResponseURL != agent.ResponseURL {
				t.Errorf("record = %+v", rec)
			}
			if got := rec.ExpiresAt.Sub(rec.CreatedAt); got < tt.want-time.Second || got > tt.want+time.Second {
				t.Errorf("expires %v after creation, want %v", got, tt.want)
			}
			created := r.dojo.Created()
			if len(created) != 1 || created[0].Metadata[payments.MetaTeam] != "T1" || created[0].Metadata[payments.MetaNonce] == "" {
				t.Fatalf("intents at Dojo = %+v", created)
			}
		})
	}
}

// TestCreateGuards: the same command again, a replayed request, a reference still
// open, "anyway", and the rate limit, each answered without a second link.
func TestCreateGuards(t *testing.T) {
	r := newRig(t, Config{Policy: policy.Policy{RateLimit: 3, RateWindow: time.Hour}})
	first := request(agent, tenGBP)
	made := r.create(t, first, Created)

	again := request(agent, tenGBP)
	if res := r.create(t, again, Repeat); res.IntentID != made.Link.IntentID {
		t.Errorf("repeat names %q, want %q", res.IntentID, made.Link.IntentID)
	}
	replay := first
	replay.RequestID = "another-id"
	r.create(t, replay, Replayed)

	res := r.create(t, request(other, tenGBP), StillOpen)
	if len(res.Open) != 1 || res.Open[0].IntentID != made.Link.IntentID || res.Open[0].Link == nil || res.Open[0].Link.Reference != "ref-1" {
		t.Errorf("open = %+v, want the first link with its record", res.Open)
	}
	anyway := request(other, tenGBP)
	anyway.Anyway = true
	r.create(t, anyway, Created)

	for i := range 2 {
		o := tenGBP
		o.Reference = "limit-" + string(rune('a'+i))
		r.create(t, request(agent, o), Created)
	}
	o := tenGBP
	o.Reference = "limit-z"
	res = r.create(t, request(agent, o), RateLimited)
	if res.RateLimit != 3 || res.RateWindow != time.Hour || res.RetryAfter <= 0 || res.RetryAfter > time.Hour {
		t.Errorf("rate limit = %d per %v, retry after %v", res.RateLimit, res.RateWindow, res.RetryAfter)
	}
	if n := len(r.dojo.Created()); n != 4 {
		t.Errorf("%d intents at Dojo, want 4", n)
	}
	var refused []store.AuditEvent
	for _, e := range r.audits(t) {
		if e.Event == "refused" {
			refused = append(refused, e)
		}
	}
	if len(refused) != 1 || refused[0].Detail != "rate limit" || refused[0].Reference != "limit-z" {
		t.Errorf("refusals audited = %+v, want the rate limit's", refused)
	}
}

// TestCreateWhileAnotherIs: while a link is being made, the same command again is
// told it is on its way, and another command for the same reference that it is being
// created; neither reaches Dojo.
func TestCreateWhileAnotherIs(t *testing.T) {
	r := newRig(t, Config{})
	release := r.dojo.Hold()
	done := make(chan Result, 1)
	go func() { done <- r.Create(bgCtx, log, request(agent, tenGBP)) }()
	waitFor(t, "the create to reach Dojo", func() bool { return len(r.dojo.Requests()) == 1 })
	r.create(t, request(agent, tenGBP), RepeatPending)
	r.create(t, request(other, tenGBP), BeingCreated)
	release()
	if res := <-done; res.Outcome != Created {
		t.Fatalf("the first create ended %v", res.Outcome)
	}
	if n := len(r.dojo.Requests()); n != 1 {
		t.Errorf("%d requests to Dojo, want 1", n)
	}
}

// TestCreateFailuresLeaveNothing: when Dojo refuses, or Redis fails before or after
// Dojo made the intent, no record is left, no intent stays open at Dojo, and the same
// command can be tried again.
func TestCreateFailuresLeaveNothing(t *testing.T) {
	t.Run("Dojo refuses", func(t *testing.T) {
		r := newRig(t, Config{})
		r.dojo.FailNext(1, http.StatusInternalServerError, `{"title":"boom"}`)
		res := r.create(t, request(agent, tenGBP), DojoFailed)
		var de *dojo.Error
		if !errors.As(res.Err, &de) || de.StatusCode != http.StatusInternalServerError {
			t.Errorf("err = %v, want Dojo's 500", res.Err)
		}
		if links, _ := r.st.LinksByReference(bgCtx, "T1", "ref-1", 5); len(links) != 0 {
			t.Errorf("records left: %+v", links)
		}
		r.create(t, request(agent, tenGBP), Created)
	})
	t.Run("Dojo returns an unusable id", func(t *testing.T) {
		r := newRig(t, Config{})
		r.dojo.FailNext(1, http.StatusOK, `{"id":"pi_<b>","status":"Created"}`)
		r.create(t, request(agent, tenGBP), DojoFailed)
	})
	t.Run("Redis down before", func(t *testing.T) {
		r := newRig(t, Config{})
		r.mr.Close()
		r.create(t, request(agent, tenGBP), StoreFailed)
		if n := len(r.dojo.Requests()); n != 0 {
			t.Errorf("%d requests to Dojo, want none", n)
		}
	})
	t.Run("Redis down after", func(t *testing.T) {
		r := newRig(t, Config{})
		release := r.dojo.Hold()
		done := make(chan Result, 1)
		go func() { done <- r.Create(bgCtx, log, request(agent, tenGBP)) }()
		waitFor(t, "the create to reach Dojo", func() bool { return len(r.dojo.Requests()) == 1 })
		r.mr.Close()
		release()
		res := <-done
		if res.Outcome != RecordFailed {
			t.Fatalf("outcome %v, want %v", res.Outcome, RecordFailed)
		}
		created := r.dojo.Created()
		if len(created) != 1 {
			t.Fatalf("%d intents", len(created))
		}
		if pi, _ := r.dojo.Intent(created[0].ID); pi.Status != dojo.StatusCanceled {
			t.Errorf("the unrecorded intent is %s at Dojo, want Canceled", pi.Status)
		}
	})
}

// TestCreateFindsATimedOutIntent: Dojo made the intent but its answer came after the
// client gave up: the intent is found by its nonce and recorded, not made twice.
func TestCreateFindsATimedOutIntent(t *testing.T) {
	r := newRig(t, Config{}, func(c *dojo.Config) { c.Timeout = 100 * time.Millisecond })
	r.dojo.AnswerLate()
	res := r.create(t, request(agent, tenGBP), Created)
	created := r.dojo.Created()
	if len(created) != 1 || created[0].ID != res.Link.IntentID {
		t.Errorf("intents %+v, link %s", created, res.Link.IntentID)
	}
}

// TestCreateTimedOutAndNotFound: Dojo timed out and no intent carries the nonce: the
// agent is told Dojo failed, with its timeout.
func TestCreateTimedOutAndNotFound(t *testing.T) {
	r := newRig(t, Config{}, func(c *dojo.Config) { c.Timeout = 50 * time.Millisecond })
	release := r.dojo.Hold()
	defer release()
	res := r.Create(bgCtx, log, request(agent, tenGBP))
	var de *dojo.Error
	if res.Outcome != DojoFailed || !errors.As(res.Err, &de) || !de.Timeout {
		t.Fatalf("outcome %v (%v), want a Dojo timeout", res.Outcome, res.Err)
	}
}

// TestAdmit: today's cap and allow-lists, for creating and for reading.
func TestAdmit(t *testing.T) {
	caps, _ := policy.ParseMaxAmounts("GBP:100")
	r := newRig(t, Config{MaxAmounts: caps, Policy: policy.Policy{
		Channels: map[string]bool{"C1": true}, Users: map[string]bool{"U1": true}, Admins: map[string]bool{"UA": true}}})
	big := Order{Amount: dojo.Money{Value: 20000, CurrencyCode: "GBP"}, Reference: "r"}
	for _, tt := range []struct {
		name  string
		from  Origin
		order *Order
		over  bool
		ok    bool
	}{
		{"allowed", agent, &tenGBP, false, true},
		{"reading", agent, nil, false, true},
		{"over the cap", agent, &big, true, false},
		{"channel not allowed", Origin{Team: "T1", Channel: "C9", User: "U1"}, &tenGBP, false, false},
		{"user not allowed", Origin{Team: "T1", Channel: "C1", User: "U9"}, nil, false, false},
		{"admin anywhere", Origin{Team: "T1", Channel: "C9", User: "UA"}, nil, false, true},
	} {
		got := r.Admit(bgCtx, tt.from, tt.order)
		if (got == nil) != tt.ok || got != nil && (got.OverLimit != tt.over || got.Problem == "") {
			t.Errorf("%s: Admit = %+v", tt.name, got)
		}
	}
	r.Refused(bgCtx, log, agent, big, "too much")
	events := r.audits(t)
	if len(events) != 1 || events[0].Event != "refused" || events[0].Detail != "too much" || events[0].Amount != 20000 {
		t.Errorf("audit = %+v", events)
	}
}

// TestReplayed: a signature is let through once.
func TestReplayed(t *testing.T) {
	r := newRig(t, Config{})
	if r.Replayed(bgCtx, log, "") || r.Replayed(bgCtx, log, "s1") || !r.Replayed(bgCtx, log, "s1") {
		t.Error("a signature was not let through exactly once")
	}
	r.mr.Close()
	if r.Replayed(bgCtx, log, "s2") {
		t.Error("with Redis down a request was refused as replayed")
	}
}

// TestFind: by intent id or reference, within the workspace, as the user may see it.
func TestFind(t *testing.T) {
	r := newRig(t, Config{Policy: policy.Policy{Admins: map[string]bool{"UA": true}}})
	first := r.create(t, request(agent, tenGBP), Created).Link
	r.clock.Advance(time.Second) // newest first: the second link is a second younger
	anyway := request(agent, tenGBP)
	anyway.Anyway, anyway.Key = true, "anyway:1"
	second := r.create(t, anyway, Created).Link
	if c := r.Cancel(bgCtx, log, second, "U1"); c.Outcome != Canceled {
		t.Fatalf("cancel: %+v", c)
	}
	// The notifier records the status on the link once its notice is posted.
	if err := r.st.SetNoticePosted(bgCtx, second.IntentID, "Canceled", "1.2", "Canceled"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name       string
		from       Origin
		target     string
		preferOpen bool
		want       string // intent id; "" = not found
	}{
		{"by id", agent, first.IntentID, false, first.IntentID},
		{"by reference, newest", agent, "REF-1", false, second.IntentID},
		{"by reference, open first", agent, "ref-1", true, first.IntentID},
		{"by reference, newest of the closed", agent, "ref-1", false, second.IntentID},
		{"another workspace's id", Origin{Team: "T2", Channel: "C1", User: "U1"}, first.IntentID, false, ""},
		{"another channel, another agent", other, "ref-1", false, ""},
		{"another channel, an admin", Origin{Team: "T1", Channel: "C2", User: "UA"}, "ref-1", false, second.IntentID},
		{"no such reference", agent, "nothing", false, ""},
		{"no such id", agent, "pi_sandbox_nothing", false, ""},
	} {
		rec, err := r.Find(bgCtx, tt.from, tt.target, tt.preferOpen)
		switch {
		case tt.want == "" && !errors.Is(err, store.ErrNotFound):
			t.Errorf("%s: Find = %+v, %v; want not found", tt.name, rec, err)
		case tt.want != "" && (err != nil || rec.IntentID != tt.want):
			t.Errorf("%s: Find = %+v, %v; want %s", tt.name, rec, err, tt.want)
		}
	}
	links, err := r.List(bgCtx, agent)
	if err != nil || len(links) != 2 || links[0].IntentID != second.IntentID {
		t.Errorf("List = %+v, %v", links, err)
	}
	r.mr.Close()
	if _, err := r.Find(bgCtx, agent, "ref-1", false); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("with Redis down, Find err = %v", err)
	}
}

// TestRefresh: Dojo's status is recorded and returned; Dojo silent, the last known
// status, marked stale; an intent past its expiry reads Expired.
func TestRefresh(t *testing.T) {
	r := newRig(t, Config{})
	link := r.create(t, request(agent, tenGBP), Created).Link
	if st := r.Refresh(bgCtx, log, link); st.Stale || st.Link.Status != string(dojo.StatusCreated) {
		t.Errorf("fresh link: %+v", st)
	}
	r.dojo.SetStatus(link.IntentID, dojo.StatusCaptured)
	if st := r.Refresh(bgCtx, log, link); st.Link.Status != string(dojo.StatusCreated) {
		t.Errorf("within the cache's life Dojo was asked again: %s", st.Link.Status)
	}
	r.Forget(link.IntentID)
	if st := r.Refresh(bgCtx, log, link); st.Stale || st.Link.Status != string(dojo.StatusCaptured) {
		t.Errorf("paid link: %+v", st)
	}
	if !r.recorded(t, link.IntentID, dojo.StatusCaptured) {
		t.Error("the payment was not recorded")
	}

	late := request(agent, Order{Amount: tenGBP.Amount, Reference: "late"})
	old := r.create(t, late, Created).Link
	r.dojo.SetExpireAt(old.IntentID, time.Now().Add(-time.Minute))
	old.ExpiresAt = time.Now().Add(-time.Minute)
	if st := r.Refresh(bgCtx, log, old); st.Link.Status != store.StatusExpired {
		t.Errorf("expired link reads %s", st.Link.Status)
	}

	r.dojo.FailNext(3, http.StatusServiceUnavailable, "{}")
	r.Forget(link.IntentID)
	if st := r.Refresh(bgCtx, log, link); !st.Stale || st.Link != link {
		t.Errorf("Dojo down: %+v", st)
	}
}

// TestCancel: who may, what Dojo says, and what is recorded.
func TestCancel(t *testing.T) {
	r := newRig(t, Config{Policy: policy.Policy{Admins: map[string]bool{"UA": true}}})
	link := r.create(t, request(agent, tenGBP), Created).Link

	if c := r.Cancel(bgCtx, log, link, "U2"); c.Outcome != CancelNotAllowed {
		t.Errorf("another agent: %v", c.Outcome)
	}
	r.dojo.FailNext(1, http.StatusInternalServerError, "{}")
	if c := r.Cancel(bgCtx, log, link, "U1"); c.Outcome != CancelFailed || c.Err == nil {
		t.Errorf("Dojo failing: %+v", c)
	}
	if c := r.Cancel(bgCtx, log, link, "UA"); c.Outcome != Canceled {
		t.Fatalf("an admin: %+v", c)
	}
	if !r.recorded(t, link.IntentID, dojo.StatusCanceled) {
		t.Error("the cancel was not recorded")
	}
	if pi, _ := r.dojo.Intent(link.IntentID); pi.Status != dojo.StatusCanceled {
		t.Errorf("at Dojo %s", pi.Status)
	}
	link.Status = string(dojo.StatusCanceled)
	if c := r.Cancel(bgCtx, log, link, "U1"); c.Outcome != AlreadyClosed {
		t.Errorf("closed link: %v", c.Outcome)
	}

	// Paid in the meantime: Dojo refuses, and says where the link stands.
	paid := r.create(t, request(agent, Order{Amount: tenGBP.Amount, Reference: "paid"}), Created).Link
	r.dojo.SetStatus(paid.IntentID, dojo.StatusCaptured)
	c := r.Cancel(bgCtx, log, paid, "U1")
	if c.Outcome != CancelRefused || c.Reason == "" || c.Status.Link.Status != string(dojo.StatusCaptured) {
		t.Errorf("paid link: %+v", c)
	}
	var events []string
	for _, e := range r.audits(t) {
		events = append(events, e.Event+":"+e.User)
	}
	// Refusals and money events are two streams, ordered by the millisecond: two events
	// of one millisecond may come in either order.
	slices.Sort(events)
	if want := []string{"canceled:UA", "refused:U2"}; !slices.Equal(events, want) {
		t.Errorf("audit %v, want %v", events, want)
	}
}

// TestCancelRefusal: the reason Dojo gives for keeping a link, whichever field it
// is in.
func TestCancelRefusal(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
		ok   bool
	}{
		{&dojo.Error{StatusCode: 400, Detail: "already captured"}, "already captured", true},
		{&dojo.Error{StatusCode: 409, Title: "Conflict"}, "Conflict", true},
		{&dojo.Error{StatusCode: 404}, "Not Found", true},
		{&dojo.Error{StatusCode: 500, Detail: "x"}, "", false},
		{errors.New("network"), "", false},
		{nil, "", false},
	} {
		got, ok := cancelRefusal(tt.err)
		if got != tt.want || ok != tt.ok {
			t.Errorf("cancelRefusal(%v) = %q, %v; want %q, %v", tt.err, got, ok, tt.want, tt.ok)
		}
	}
}

// TestPosted: a link's record says its card is on the way until the card's ts and the
// creation's audit event are recorded together; a card that could not be posted is
// audited all the same, and no longer on the way.
func TestPosted(t *testing.T) {
	r := newRig(t, Config{})
	link := r.create(t, request(agent, tenGBP), Created).Link
	if rec, _ := r.st.Link(bgCtx, link.IntentID); !rec.CardPending {
		t.Error("a link made by a command is not marked as having its card on the way")
	}
	r.Posted(bgCtx, log, link, "C1", "1700000000.000100")
	if rec, _ := r.st.Link(bgCtx, link.IntentID); rec.MessageTS != "1700000000.000100" || rec.MessageChannel != "C1" || rec.CardPending {
		t.Errorf("message = %s/%s, card pending %v", rec.MessageChannel, rec.MessageTS, rec.CardPending)
	}
	unposted := r.create(t, request(agent, Order{Amount: tenGBP.Amount, Reference: "dm"}), Created).Link
	r.Unposted(bgCtx, log, unposted)
	if rec, _ := r.st.Link(bgCtx, unposted.IntentID); rec.MessageTS != "" || rec.CardPending {
		t.Errorf("unposted: message ts %q, card pending %v", rec.MessageTS, rec.CardPending)
	}
	events := r.audits(t)
	if len(events) != 2 || events[0].Intent != link.IntentID || events[1].Intent != unposted.IntentID || events[1].Event != "created" {
		t.Errorf("audit = %+v", events)
	}
}

// failPipelines fails the next n pipelines a client sends, as a Redis that went away
// for a moment would.
type failPipelines struct{ n atomic.Int32 }

func (f *failPipelines) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (f *failPipelines) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (f *failPipelines) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if f.n.Add(-1) >= 0 {
			return errors.New("connection reset by peer")
		}
		return next(ctx, cmds)
	}
}

// TestPostedTriesAgain: a card's place that Redis could not take at once is recorded
// when Redis comes back a moment later, with one audit event; a Redis gone for longer
// is given up on after a few tries.
func TestPostedTriesAgain(t *testing.T) {
	tests := []struct {
		failures int32
		recorded bool
	}{
		{2, true},
		{10, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d failures", tt.failures), func(t *testing.T) {
			r := newRig(t, Config{})
			link := r.create(t, request(agent, tenGBP), Created).Link
			fail := &failPipelines{}
			fail.n.Store(tt.failures)
			r.rdb.AddHook(fail)
			r.Posted(bgCtx, log, link, "C1", "1700000000.000100")
			fail.n.Store(0)
			rec, _ := r.st.Link(bgCtx, link.IntentID)
			if got := rec.MessageTS == "1700000000.000100" && !rec.CardPending; got != tt.recorded {
				t.Errorf("recorded = %v (ts %q, card pending %v), want %v", got, rec.MessageTS, rec.CardPending, tt.recorded)
			}
			created := 0
			for _, e := range r.audits(t) {
				if e.Event == "created" {
					created++
				}
			}
			if want := map[bool]int{true: 1, false: 0}[tt.recorded]; created != want {
				t.Errorf("%d created events, want %d", created, want)
			}
		})
	}
}

// TestLookUpLimit: a user asking Dojo about links is held to the look-up limit.
func TestLookUpLimit(t *testing.T) {
	r := newRig(t, Config{})
	refused := 0
	for i := range 100 {
		if r.LookUp(bgCtx, log, agent, "mark-"+time.Now().Format("150405.000000000")+string(rune('a'+i%26))) != "" {
			refused++
		}
	}
	if refused == 0 {
		t.Error("100 look-ups in a moment, none refused")
	}
}

func TestOutcomeNames(t *testing.T) {
	for o := Created; o <= RecordFailed; o++ {
		if strings.HasPrefix(o.String(), "outcome") {
			t.Errorf("outcome %d has no name", o)
		}
	}
	if Outcome(99).String() != "outcome(99)" {
		t.Error(Outcome(99).String())
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
