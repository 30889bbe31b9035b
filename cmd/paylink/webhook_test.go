package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/paylink/paylink/bot"
	"github.com/paylink/paylink/bot/fakeslack"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/dojo/dojotest"
)

// fastNotify makes retries and take-overs quick enough for tests.
var fastNotify = env{
	"PAYLINK_NOTIFY_CLAIM_IDLE":  "1s",
	"PAYLINK_NOTIFY_RETRY_BASE":  "100ms",
	"PAYLINK_RECONCILE_INTERVAL": "1h",
}

func merge(envs ...env) env {
	out := env{}
	for _, e := range envs {
		for k, v := range e {
			out[k] = v
		}
	}
	return out
}

// sendWebhook POSTs body to /dojo/webhooks signed as Dojo signs it.
func (h *harness) sendWebhook(body []byte) int {
	h.t.Helper()
	return h.sendWebhookTo(h.url, body)
}

func (h *harness) sendWebhookTo(base string, body []byte) int {
	h.t.Helper()
	code, err := dojotest.SendWebhook(context.Background(), base+bot.PathDojoWebhooks, testWebhookSecret, body)
	if err != nil {
		h.t.Fatalf("send webhook: %v", err)
	}
	return code
}

// makeLink runs /paylink and returns the intent id and the link message's ts.
func (h *harness) makeLink(text string) (string, string) {
	h.t.Helper()
	before := len(h.dojo.Created())
	resp, body, _ := h.sendCommand(h.commandForm(text, "make-"+text))
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("command %q: %d %s", text, resp.StatusCode, body)
	}
	var id string
	waitFor(h.t, "the intent", func() bool {
		c := h.dojo.Created()
		if len(c) > before {
			id = c[len(c)-1].ID
			return true
		}
		return false
	})
	var ts string
	waitFor(h.t, "the link message", func() bool {
		for _, c := range h.slack.Calls("chat.postMessage") {
			if c.Failed == "" && c.ThreadTS == "" && strings.Contains(c.Text, id) {
				ts = c.TS
				return true
			}
		}
		return false
	})
	key := h.redis.prefix + "link:{" + id + "}"
	if h.redis.rdb != nil {
		waitFor(h.t, "the link record's ts", func() bool {
			return h.redis.rdb.HGet(context.Background(), key, "msg_ts").Val() == ts
		})
	}
	return id, ts
}

// notices returns the successful chat.postMessage calls whose text contains word.
func notices(s *fakeslack.Server, word string) []fakeslack.Call {
	var out []fakeslack.Call
	for _, c := range s.Calls("chat.postMessage") {
		if c.Failed == "" && strings.Contains(c.Text, word) {
			out = append(out, c)
		}
	}
	return out
}

func waitNotices(t *testing.T, s *fakeslack.Server, word string, n int, within time.Duration) []fakeslack.Call {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := notices(s, word)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d %q notices after %v, want %d", len(got), word, within, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestWebhookRequests(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, fastNotify)
	id, _ := h.makeLink("10 GBP wh-1")
	good := dojotest.Event(id, dojo.StatusCreated)
	sign := func(b []byte) string { return dojo.SignWebhook(testWebhookSecret, b) }
	big := append(bytes.Repeat([]byte(" "), 1<<20), good...)
	other := []byte(`{"id":"evt_1","event":"payment_intent.created","accountId":"acc","createdAt":"2026-01-01T00:00:00Z","data":{"paymentIntentId":"` + id + `","paymentStatus":"Created"}}`)
	stranger := dojotest.Event("pi_sandbox_notours0000000000000", dojo.StatusCaptured)
	zoneless := []byte(`{"id":"evt_z","event":"payment_intent.status_updated","accountId":"acc","createdAt":"2026-11-30T10:00:00.123","data":{"paymentIntentId":"` + id + `","paymentStatus":"Created","captureMode":"Auto"}}`)
	oddFields := []byte(`{"id":"evt_o","event":"payment_intent.status_updated","accountId":7,"createdAt":"soon","data":{"paymentIntentId":"` + id + `","paymentStatus":"Created","captureMode":null}}`)
	tests := []struct {
		name   string
		body   []byte
		header string
		want   int
	}{
		{"valid", good, sign(good), 200},
		{"valid, lower-case without dashes", good, strings.ToLower(strings.ReplaceAll(sign(good), "-", "")), 200},
		{"one byte of the signature changed", good, strings.Replace(sign(good), sign(good)[7:9], flipHex(sign(good)[7:9]), 1), 401},
		{"signed with another secret", good, dojo.SignWebhook("ws_other", good), 401},
		{"no signature", good, "", 401},
		{"malformed JSON", []byte(`{"id":`), sign([]byte(`{"id":`)), 400},
		{"not an event", []byte(`{"hello":"world"}`), sign([]byte(`{"hello":"world"}`)), 400},
		{"too large", big, sign(big), 413},
		{"another event type", other, sign(other), 200},
		{"an intent we never created", stranger, sign(stranger), 200},
		{"createdAt without a time zone", zoneless, sign(zoneless), 200},
		{"accountId and createdAt unreadable", oddFields, sign(oddFields), 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := h.on(t)
			req, _ := http.NewRequest(http.MethodPost, h.url+bot.PathDojoWebhooks, bytes.NewReader(tt.body))
			if tt.header != "" {
				req.Header.Set("dojo-signature", tt.header)
			}
			resp, body, _ := h.do(req)
			if resp.StatusCode != tt.want {
				t.Errorf("status %d (%s), want %d", resp.StatusCode, body, tt.want)
			}
		})
	}
	if keys := r.keys(t, "link:{pi_sandbox_notours*"); len(keys) != 0 {
		t.Errorf("an intent we never created left a record: %v", keys)
	}
}

func flipHex(s string) string {
	if s == "00" {
		return "01"
	}
	return "00"
}

func TestWebhookWithoutSecret503(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, env{"DOJO_WEBHOOK_SECRET": ""})
	if code := h.sendWebhook(dojotest.Event("pi_x", dojo.StatusCaptured)); code != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503 with no webhook secret", code)
	}
	if !strings.Contains(h.out.String(), "DOJO_WEBHOOK_SECRET is not set") {
		t.Errorf("no warning at start")
	}
}

// TestPaidExactlyOnce: one event delivered five times, and a second event with the same
// status, produce exactly one "Paid" reply, threaded under the link and broadcast, and
// the link message is updated to show it was paid.
func TestPaidExactlyOnce(t *testing.T) {
	t.Parallel()
	for _, r := range redisTargets(t) {
		t.Run(r.name, func(t *testing.T) {
			h := startPaylink(t, r, fastNotify)
			id, ts := h.makeLink("10.00 GBP ref-123")
			h.dojo.SetStatus(id, dojo.StatusCaptured)
			ev := dojotest.Event(id, dojo.StatusCaptured)
			for range 5 {
				if code := h.sendWebhook(ev); code != http.StatusOK {
					t.Fatalf("webhook status %d", code)
				}
			}
			if code := h.sendWebhook(dojotest.Event(id, dojo.StatusCaptured)); code != http.StatusOK {
				t.Fatalf("webhook status %d", code)
			}
			waitNotices(t, h.slack, "Paid", 1, 5*time.Second)
			time.Sleep(500 * time.Millisecond)
			paid := notices(h.slack, "Paid")
			if len(paid) != 1 {
				t.Fatalf("%d Paid messages, want exactly 1", len(paid))
			}
			p := paid[0]
			if !strings.Contains(p.Text, "Paid: £10.00 for ref-123") || p.ThreadTS != ts || !p.Broadcast || p.Channel != "C2147483705" {
				t.Errorf("Paid message = %+v, want a broadcast reply under %s", p, ts)
			}
			var update *fakeslack.Call
			waitFor(t, "the link message update", func() bool {
				u := h.slack.Calls("chat.update")
				if len(u) > 0 {
					update = &u[len(u)-1]
				}
				return update != nil
			})
			if update.TS != ts || !strings.Contains(string(update.Blocks), "Paid") || strings.Contains(string(update.Blocks), "open_checkout") {
				t.Errorf("link message update = %s, want Paid and no checkout button", update.Blocks)
			}
			rec := r.rdb.HGetAll(context.Background(), r.prefix+"link:{"+id+"}").Val()
			if rec["status"] != "Captured" || rec["notice:Captured"] != p.TS {
				t.Errorf("record status %q notice %q", rec["status"], rec["notice:Captured"])
			}
			// A late Created moves nothing back and says nothing.
			h.sendWebhook(dojotest.Event(id, dojo.StatusCreated))
			time.Sleep(300 * time.Millisecond)
			if n := len(h.slack.Calls("chat.postMessage")); n != 2 {
				t.Errorf("%d messages after a late Created, want the link and Paid only", n)
			}
		})
	}
}

// TestStatusWording: Canceled and Refunded have their own words; a Refunded whose
// Captured was never delivered still reports Paid first.
func TestStatusWording(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, fastNotify)
	a, _ := h.makeLink("5 EUR cancel-me")
	h.dojo.SetStatus(a, dojo.StatusCanceled)
	h.sendWebhook(dojotest.Event(a, dojo.StatusCanceled))
	waitNotices(t, h.slack, "Canceled", 1, 5*time.Second)

	b, _ := h.makeLink("7 GBP refund-me")
	h.dojo.SetStatus(b, dojo.StatusRefunded)
	h.sendWebhook(dojotest.Event(b, dojo.StatusRefunded))
	waitNotices(t, h.slack, "Refunded", 1, 5*time.Second)
	paid := waitNotices(t, h.slack, "Paid: £7.00", 1, 5*time.Second)
	if len(paid) != 1 {
		t.Errorf("%d Paid notices for the refunded link, want 1", len(paid))
	}
}

// TestForgedStatusNotAnnounced: a correctly signed event that Dojo's own record does
// not bear out (a replay of an old delivery, say) is not announced.
func TestUnconfirmedStatusNotAnnounced(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, fastNotify)
	id, _ := h.makeLink("10 GBP replayed")
	if code := h.sendWebhook(dojotest.Event(id, dojo.StatusCaptured)); code != 200 {
		t.Fatalf("status %d", code)
	}
	waitFor(t, "Dojo to be asked to confirm", func() bool {
		n := 0
		for _, req := range h.dojo.Requests() {
			if req.Method == http.MethodGet && strings.HasSuffix(req.Path, id) {
				n++
			}
		}
		return n >= 3
	})
	time.Sleep(200 * time.Millisecond)
	if n := len(notices(h.slack, "Paid")); n != 0 {
		t.Errorf("%d Paid messages for a payment Dojo does not confirm", n)
	}
}

// TestRetryAfterHonoured: a 429 from Slack is waited out for its Retry-After.
func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, fastNotify)
	id, _ := h.makeLink("10 GBP slow-slack")
	h.slack.Fail("chat.postMessage", fakeslack.Failure{Status: 429, RetryAfter: 2, Times: 1})
	h.dojo.SetStatus(id, dojo.StatusCaptured)
	h.sendWebhook(dojotest.Event(id, dojo.StatusCaptured))
	waitNotices(t, h.slack, "Paid", 1, 8*time.Second)
	var limited, posted time.Time
	for _, c := range h.slack.AllCalls() {
		if c.Method != "chat.postMessage" {
			continue
		}
		if c.Failed == "ratelimited" {
			limited = c.At
		} else if strings.Contains(c.Text, "Paid") {
			posted = c.At
		}
	}
	if wait := posted.Sub(limited); limited.IsZero() || wait < 2*time.Second {
		t.Errorf("posted %v after the 429 with Retry-After: 2, want at least 2s", wait)
	}
	if n := len(notices(h.slack, "Paid")); n != 1 {
		t.Errorf("%d Paid messages, want 1", n)
	}
}

// TestNotInChannelSendsDM: when the channel can't be reached, the agent gets the notice.
func TestNotInChannelSendsDM(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, fastNotify)
	id, _ := h.makeLink("10 GBP dm-me")
	h.slack.Fail("chat.postMessage", fakeslack.Failure{Error: "not_in_channel", Channel: "C2147483705"})
	h.dojo.SetStatus(id, dojo.StatusCaptured)
	h.sendWebhook(dojotest.Event(id, dojo.StatusCaptured))
	dm := waitNotices(t, h.slack, "Paid", 1, 5*time.Second)
	if dm[0].Channel != "U2147483697" {
		t.Errorf("Paid went to %q, want the agent's DM (their user id)", dm[0].Channel)
	}
}

// TestReconciliationFindsMissedPayment: Dojo marks a link paid and sends no webhook;
// reconciliation reports it within an interval.
func TestReconciliationFindsMissedPayment(t *testing.T) {
	t.Parallel()
	mr := miniredis.RunT(t)
	r := miniTarget(t, mr)
	h := startPaylink(t, r, merge(fastNotify, env{"PAYLINK_RECONCILE_INTERVAL": "500ms", "DOJO_WEBHOOK_SECRET": ""}))
	id, _ := h.makeLink("10 GBP missed")
	other, _ := h.makeLink("11 GBP still-open")
	h.dojo.SetStatus(id, dojo.StatusCaptured)
	start := time.Now()
	whileReconciling(t, mr, "the Paid notice", func() bool { return len(notices(h.slack, "Paid: £10.00 for missed")) == 1 })
	t.Logf("reported %v after the payment", time.Since(start))
	runs := h.reconcileRuns()
	whileReconciling(t, mr, "two more reconciliation runs", func() bool { return h.reconcileRuns() >= runs+2 })
	if n := len(notices(h.slack, "Paid")); n != 1 {
		t.Errorf("%d Paid messages after further reconciliation runs, want 1", n)
	}
	_ = other
	if ids, _ := r.rdb.ZRange(context.Background(), r.prefix+"{events}:open", 0, -1).Result(); len(ids) != 1 || ids[0] != other {
		t.Errorf("open links %v, want only %s", ids, other)
	}
}

// reconcileRuns counts the reconciliation runs paylink has logged.
func (h *harness) reconcileRuns() int {
	return strings.Count(h.out.String(), `"message":"reconciliation run"`)
}

// whileReconciling waits for cond while moving mr's clock on, so that each
// reconciliation run's lock has expired by the next: miniredis expires keys only when
// its clock is moved.
func whileReconciling(t *testing.T, mr *miniredis.Miniredis, what string, cond func() bool) {
	t.Helper()
	waitFor(t, what, func() bool {
		mr.FastForward(time.Second)
		return cond()
	})
}

// TestRedisDownDuringWebhook: Dojo gets 503 while Redis is down, and the redelivery
// after it is back produces exactly one message.
func TestRedisDownDuringWebhook(t *testing.T) {
	t.Parallel()
	for _, r := range redisTargets(t) {
		t.Run(r.name, func(t *testing.T) {
			addr := r.singleAddr(t)
			proxy := newTCPProxy(t, addr)
			via := r
			via.url = strings.Replace(r.url, addr, proxy.Addr(), 1)
			h := startPaylink(t, via, fastNotify)
			id, _ := h.makeLink("10 GBP redis-down")
			h.dojo.SetStatus(id, dojo.StatusCaptured)
			ev := dojotest.Event(id, dojo.StatusCaptured)
			proxy.Down()
			if code := h.sendWebhook(ev); code != http.StatusServiceUnavailable {
				t.Fatalf("webhook with Redis down: %d, want 503", code)
			}
			proxy.Up()
			deadline := time.Now().Add(10 * time.Second)
			for h.sendWebhook(ev) != http.StatusOK {
				if time.Now().After(deadline) {
					t.Fatal("webhook not accepted after Redis came back")
				}
				time.Sleep(100 * time.Millisecond)
			}
			h.sendWebhook(ev)
			waitNotices(t, h.slack, "Paid", 1, 10*time.Second)
			time.Sleep(500 * time.Millisecond)
			if n := len(notices(h.slack, "Paid")); n != 1 {
				t.Errorf("%d Paid messages, want 1", n)
			}
		})
	}
}

// TestReplicasShareTheWork: two paylink processes on one Redis receive the same events
// at once; each payment is announced exactly once.
func TestReplicasShareTheWork(t *testing.T) {
	t.Parallel()
	for _, r := range redisTargets(t) {
		t.Run(r.name, func(t *testing.T) {
			a := startPaylink(t, r, fastNotify)
			b := startPaylinkWith(t, r, fastNotify, a.dojo, a.slack)
			const links = 6
			var ids []string
			for i := range links {
				id, _ := a.makeLink("1" + strings.Repeat("0", i%3) + " GBP replica-" + string(rune('a'+i)))
				a.dojo.SetStatus(id, dojo.StatusCaptured)
				ids = append(ids, id)
			}
			var wg sync.WaitGroup
			for _, id := range ids {
				ev := dojotest.Event(id, dojo.StatusCaptured)
				for range 3 {
					for _, base := range []string{a.url, b.url} {
						wg.Go(func() {
							// Not a.sendWebhookTo: it stops the test, which only the
							// test's own goroutine may do.
							code, err := dojotest.SendWebhook(context.Background(), base+bot.PathDojoWebhooks, testWebhookSecret, ev)
							if err != nil || code != http.StatusOK {
								t.Errorf("webhook: %d %v", code, err)
							}
						})
					}
				}
			}
			wg.Wait()
			waitNotices(t, a.slack, "Paid", links, 10*time.Second)
			time.Sleep(500 * time.Millisecond)
			perIntent := map[string]int{}
			for _, c := range notices(a.slack, "Paid") {
				perIntent[c.ThreadTS]++
			}
			if len(perIntent) != links {
				t.Errorf("Paid under %d link messages, want %d", len(perIntent), links)
			}
			for ts, n := range perIntent {
				if n != 1 {
					t.Errorf("%d Paid messages under %s, want 1", n, ts)
				}
			}
		})
	}
}

// TestDeadLetter: a notice Slack keeps refusing ends in the dead-letter stream after its
// attempts, with an error in the log.
func TestDeadLetter(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, merge(fastNotify, env{"PAYLINK_NOTIFY_MAX_ATTEMPTS": "3", "PAYLINK_NOTIFY_RETRY_BASE": "50ms"}))
	id, _ := h.makeLink("10 GBP doomed")
	h.slack.Fail("chat.postMessage", fakeslack.Failure{Status: 500})
	h.dojo.SetStatus(id, dojo.StatusCaptured)
	h.sendWebhook(dojotest.Event(id, dojo.StatusCaptured))
	waitFor(t, "the dead letter", func() bool {
		return r.rdb.XLen(context.Background(), r.prefix+"{events}:dead").Val() == 1
	})
	failed := 0
	for _, c := range h.slack.Calls("chat.postMessage") {
		if c.Failed != "" {
			failed++
		}
	}
	if failed != 3 {
		t.Errorf("%d attempts before dead-lettering, want 3", failed)
	}
	if !strings.Contains(h.out.String(), "dead-lettered") {
		t.Errorf("no error logged for the dead letter")
	}
}
