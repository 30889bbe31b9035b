package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/paylink/paylink/bot"
	"github.com/paylink/paylink/bot/fakeslack"
)

// TestCommandToLink is the product's first promise, end to end in one process: a signed
// command → exactly the documented request at Dojo → a link message in the channel →
// the Redis record, with the message's ts.
func TestCommandToLink(t *testing.T) {
	t.Parallel()
	for _, r := range redisTargets(t) {
		t.Run(r.name, func(t *testing.T) {
			h := startPaylink(t, r, nil)
			resp, body, _ := h.sendCommand(h.commandForm("10.00 GBP ref-123", "r1"))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d (%s), want 200", resp.StatusCode, body)
			}

			// The link is made after the acknowledgement; its message is the last step.
			posts := h.slack.WaitCalls(t, "chat.postMessage", 1, 15*time.Second)
			reqs := h.dojo.Requests()
			if len(reqs) != 1 {
				t.Fatalf("Dojo received %d requests, want exactly 1", len(reqs))
			}
			got := reqs[0]
			if got.Method != http.MethodPost || got.Path != "/payment-intents" {
				t.Errorf("Dojo request = %s %s, want POST /payment-intents", got.Method, got.Path)
			}
			for name, want := range map[string]string{
				"Authorization": "Basic " + testDojoKey,
				"Version":       "2026-02-27",
				"Content-Type":  "application/json",
			} {
				if v := got.Header.Get(name); v != want {
					t.Errorf("Dojo request header %s = %q, want %q", name, v, want)
				}
			}
			var sent struct {
				Amount struct {
					Value        int64  `json:"value"`
					CurrencyCode string `json:"currencyCode"`
				} `json:"amount"`
				Reference     string            `json:"reference"`
				Description   string            `json:"description"`
				PaymentSource *string           `json:"paymentSource"`
				Metadata      map[string]string `json:"metadata"`
			}
			if err := json.Unmarshal(got.Body, &sent); err != nil {
				t.Fatalf("Dojo request body %s: %v", got.Body, err)
			}
			if sent.Amount.Value != 1000 || sent.Amount.CurrencyCode != "GBP" || sent.Reference != "ref-123" {
				t.Errorf("Dojo request amount/reference = %+v %q, want 1000 GBP ref-123", sent.Amount, sent.Reference)
			}
			if sent.PaymentSource == nil || *sent.PaymentSource != "payment-links" {
				t.Errorf("paymentSource = %v, want payment-links", sent.PaymentSource)
			}
			// The customer sees the description: only what the agent wrote, here nothing.
			if sent.Description != "" {
				t.Errorf("description %q, want none: the command gave none, and Slack names and ids stay in metadata", sent.Description)
			}
			wantMeta := map[string]string{bot.MetaTeam: "T0001", bot.MetaChannel: "C2147483705", bot.MetaUser: "U2147483697"}
			for k, v := range wantMeta {
				if sent.Metadata[k] != v {
					t.Errorf("metadata[%s] = %q, want %q", k, sent.Metadata[k], v)
				}
			}

			created := h.dojo.Created()
			if len(created) != 1 {
				t.Fatalf("fake Dojo holds %d intents, want 1", len(created))
			}
			id := created[0].ID
			link := "https://pay.dojo.tech/checkout/" + id

			post := posts[0]
			if post.Channel != "C2147483705" {
				t.Errorf("link posted in %q, want the command's channel", post.Channel)
			}
			if !strings.Contains(post.Text, link) || !strings.Contains(string(post.Blocks), link) {
				t.Errorf("link message lacks %s: text %q", link, post.Text)
			}
			for _, want := range []string{"£10.00", "ref-123", "<@U2147483697>", "TEST MODE"} {
				if !strings.Contains(post.Text+string(post.Blocks), want) {
					t.Errorf("link message lacks %q", want)
				}
			}
			if post.UnfurlLinks == nil || *post.UnfurlLinks || post.UnfurlMedia == nil || *post.UnfurlMedia {
				t.Errorf("unfurl_links/unfurl_media = %v/%v, want both false", post.UnfurlLinks, post.UnfurlMedia)
			}

			key := r.prefix + "link:{" + id + "}"
			waitFor(t, "the link record's message ts", func() bool {
				return r.rdb.HGet(context.Background(), key, "msg_ts").Val() == post.TS
			})
			rec := r.rdb.HGetAll(context.Background(), key).Val()
			for field, want := range map[string]string{
				"team": "T0001", "channel": "C2147483705", "user": "U2147483697",
				"amount": "1000", "currency": "GBP", "reference": "ref-123", "status": "Created",
				"response_url": h.slack.ResponseURL("r1"), "msg_channel": "C2147483705",
			} {
				if rec[field] != want {
					t.Errorf("record %s = %q, want %q", field, rec[field], want)
				}
			}
			if ttl := r.rdb.TTL(context.Background(), key).Val(); ttl < 30*24*time.Hour {
				t.Errorf("record TTL %v, want beyond Dojo's 30 days", ttl)
			}
		})
	}
}

// waitFor polls cond for up to 15 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ephemeralText(t *testing.T, body string) string {
	t.Helper()
	var msg struct {
		ResponseType string `json:"response_type"`
		Text         string `json:"text"`
	}
	if err := json.Unmarshal([]byte(body), &msg); err != nil {
		t.Fatalf("answer %q is not a Slack message: %v", body, err)
	}
	if msg.ResponseType != "ephemeral" {
		t.Errorf("response_type = %q, want ephemeral", msg.ResponseType)
	}
	return msg.Text
}

// TestCommandRejections: every bad command gets a clear ephemeral answer with the usage
// line, and calls nothing and stores nothing.
func TestCommandRejections(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, env{"PAYLINK_MAX_AMOUNT": "GBP:5000"})
	tests := []struct {
		text string
		want string // in the answer
	}{
		{"0 GBP ref", "Usage: /paylink"},
		{"-5 GBP ref", "Usage: /paylink"},
		{"10.001 GBP ref", "decimal"},
		{"1e3 GBP ref", "Usage: /paylink"},
		{"NaN GBP ref", "Usage: /paylink"},
		{"99999999999999999999999 GBP ref", "Usage: /paylink"},
		{"10 USD ref", "GBP"},
		{"10 GBP", "reference"},
		{"10 GBP " + strings.Repeat("x", 61), "60"},
		{"5000.01 GBP ref", "£5,000.00"},
		{"10001 EUR ref", "€10,000.00"},
	}
	for _, tt := range tests {
		resp, body, _ := h.sendCommand(h.commandForm(tt.text, "r"))
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%q: status %d, want 200", tt.text, resp.StatusCode)
			continue
		}
		text := ephemeralText(t, body)
		if !strings.Contains(text, tt.want) {
			t.Errorf("%q: answer %q lacks %q", tt.text, text, tt.want)
		}
	}
	for _, text := range []string{"help", "HELP"} {
		_, body, _ := h.sendCommand(h.commandForm(text, "r"))
		if got := ephemeralText(t, body); !strings.Contains(got, "Usage: /paylink") || !strings.Contains(got, "Example") {
			t.Errorf("%q: help answer %q", text, got)
		}
	}
	if n := h.dojoCalls(); n != 0 {
		t.Errorf("Dojo received %d requests for rejected commands, want 0", n)
	}
	if keys := append(r.keys(t, "link:*"), r.keys(t, "cmd:*")...); len(keys) != 0 {
		t.Errorf("rejected commands left keys in Redis: %v", keys)
	}
	if n := len(h.slack.AllCalls()); n != 0 {
		t.Errorf("rejected commands made %d Slack API calls, want 0", n)
	}
}

// TestCommandBadRequests: bad, stale or missing signatures and oversize bodies are
// refused before anything happens.
func TestCommandBadRequests(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, nil)
	good := h.commandForm("10.00 GBP ref-123", "r").Encode()
	sign := func(ts time.Time, body string) (string, string) {
		return bot.SignSlackRequest(testSigningSecret, ts, []byte(body))
	}
	tests := []struct {
		name   string
		body   string
		header func(http.Header)
		want   int
	}{
		{"bad signature", good, func(hd http.Header) {
			ts, sig := sign(time.Now(), good)
			hd.Set("X-Slack-Request-Timestamp", ts)
			hd.Set("X-Slack-Signature", sig[:len(sig)-1]+flip(sig[len(sig)-1]))
		}, 401},
		{"wrong secret", good, func(hd http.Header) {
			ts, sig := bot.SignSlackRequest("another-secret", time.Now(), []byte(good))
			hd.Set("X-Slack-Request-Timestamp", ts)
			hd.Set("X-Slack-Signature", sig)
		}, 401},
		{"stale timestamp", good, func(hd http.Header) {
			ts, sig := sign(time.Now().Add(-6*time.Minute), good)
			hd.Set("X-Slack-Request-Timestamp", ts)
			hd.Set("X-Slack-Signature", sig)
		}, 401},
		{"missing headers", good, func(http.Header) {}, 401},
		{"missing signature", good, func(hd http.Header) {
			ts, _ := sign(time.Now(), good)
			hd.Set("X-Slack-Request-Timestamp", ts)
		}, 401},
		{"body signed for another body", good + "&x=1", func(hd http.Header) {
			ts, sig := sign(time.Now(), good)
			hd.Set("X-Slack-Request-Timestamp", ts)
			hd.Set("X-Slack-Signature", sig)
		}, 401},
		{"oversize body", good + "&pad=" + strings.Repeat("a", 70<<10), func(hd http.Header) {
			body := good + "&pad=" + strings.Repeat("a", 70<<10)
			ts, sig := sign(time.Now(), body)
			hd.Set("X-Slack-Request-Timestamp", ts)
			hd.Set("X-Slack-Signature", sig)
		}, 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := h.on(t)
			req, _ := http.NewRequest(http.MethodPost, h.url+bot.PathCommands, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			tt.header(req.Header)
			resp, body, _ := h.do(req)
			if resp.StatusCode != tt.want {
				t.Errorf("status = %d (%s), want %d", resp.StatusCode, body, tt.want)
			}
		})
	}
	h.settle(t)
	if n := h.dojoCalls(); n != 0 {
		t.Errorf("Dojo received %d requests, want 0", n)
	}
	if keys := append(r.keys(t, "link:*"), r.keys(t, "cmd:*")...); len(keys) != 0 {
		t.Errorf("refused requests left keys in Redis: %v", keys)
	}
}

func flip(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}

// TestSlowDojo: the acknowledgement does not wait on Dojo, so Slack's 3 s are paylink's
// own work however slow Dojo is: with Dojo not answering, the command is acknowledged,
// the agent is told the link is on its way, and the link arrives when Dojo answers.
func TestSlowDojo(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, nil)
	release := h.dojo.Hold()
	resp, body, took := h.sendCommand(h.commandForm("25 EUR Order 236", "slow"))
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(body) != "" {
		t.Fatalf("with Dojo not answering, acknowledged with %d %q after %v; want 200 and nothing yet", resp.StatusCode, body, took)
	}
	if text := ephemeralText(t, h.answer(body, "slow")); !strings.Contains(text, "€25.00") || !strings.Contains(text, "taking a moment") {
		t.Errorf("interim answer %q does not say which link is coming", text)
	}
	if n := len(h.slack.Calls("chat.postMessage")); n != 0 {
		t.Errorf("%d link messages before Dojo answered", n)
	}
	release()
	posts := h.slack.WaitCalls(t, "chat.postMessage", 1, 15*time.Second)
	if !strings.Contains(posts[0].Text, "https://pay.dojo.tech/checkout/pi_") || !strings.Contains(posts[0].Text, "Order 236") {
		t.Errorf("late link message = %q", posts[0].Text)
	}
}

// TestDojoFailures: Dojo refusing or not answering gives a clear ephemeral error with
// what Dojo said, and leaves no record and no link.
func TestDojoFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		status  int
		problem string
		extra   env
		latency time.Duration
		want    []string
	}{
		{name: "400", status: 400,
			problem: `{"errors":{"Reference":["The Reference field is required."]},"type":"https://tools.ietf.org/html/rfc7231#section-6.5.1","title":"One or more validation errors occurred.","status":400,"traceId":"00-a405f077df056a498323ffbcec05923f-aa63e6f4dbbc734a-01"}`,
			want:    []string{"One or more validation errors occurred.", "The Reference field is required.", "00-a405f077df056a498323ffbcec05923f-aa63e6f4dbbc734a-01"}},
		{name: "401", status: 401, problem: `{"title":"Unauthorized","status":401,"traceId":"trace-401"}`,
			want: []string{"trace-401"}},
		{name: "500", status: 500, problem: `{"title":"Internal Server Error","status":500,"detail":"try later","traceId":"trace-500"}`,
			want: []string{"Internal Server Error", "try later", "trace-500"}},
		{name: "timeout", extra: env{"DOJO_TIMEOUT": "300ms"}, latency: 2 * time.Second,
			want: []string{"Dojo"}},
		{name: "key echoed", status: 400,
			problem: `{"errors":{"` + testDojoKey + `":["is not a field"]},"title":"Invalid","status":400,"traceId":"00-` + testDojoKey + `-01"}`,
			want:    []string{"Invalid", "is not a field"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := redisTargets(t)[0]
			h := startPaylink(t, r, tt.extra)
			if tt.status != 0 {
				h.dojo.FailNext(1, tt.status, tt.problem)
			}
			if tt.latency > 0 {
				h.dojo.SetLatency(tt.latency)
			}
			resp, body, _ := h.sendCommand(h.commandForm("10.00 GBP ref-123", "f"))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", resp.StatusCode)
			}
			text := ephemeralText(t, h.answer(body, "f"))
			for _, want := range tt.want {
				if !strings.Contains(text, want) {
					t.Errorf("answer %q lacks %q", text, want)
				}
			}
			for i := 0; i+8 <= len(testDojoKey); i++ {
				if part := testDojoKey[i : i+8]; strings.Contains(text, part) || strings.Contains(h.out.String(), part) {
					t.Errorf("%q of the Dojo API key leaked into the answer or the log", part)
					break
				}
			}
			h.settle(t)
			if keys := r.keys(t, "link:*"); len(keys) != 0 {
				t.Errorf("failed create left link records: %v", keys)
			}
			if n := len(h.slack.Calls("chat.postMessage")); n != 0 {
				t.Errorf("failed create posted %d messages", n)
			}
			// The claim was released: the same command can be tried again.
			h.dojo.SetLatency(0)
			h.sendCommand(h.commandForm("10.00 GBP ref-123", "f2"))
			h.slack.WaitCalls(t, "chat.postMessage", 1, 5*time.Second)
		})
	}
}

// TestRetypedCommand: the same command again within the window returns the link
// already made and creates no second intent.
func TestRetypedCommand(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, nil)
	h.sendCommand(h.commandForm("10.00 GBP ref-123", "a"))
	h.slack.WaitCalls(t, "chat.postMessage", 1, 5*time.Second)
	_, body, _ := h.sendCommand(h.commandForm("10.00 gbp  ref-123", "b"))
	id := h.dojo.Created()[0].ID
	if text := ephemeralText(t, h.answer(body, "b")); !strings.Contains(text, "https://pay.dojo.tech/checkout/"+id) {
		t.Errorf("re-typed command answer %q lacks the existing link", text)
	}
	if n := len(h.dojo.Created()); n != 1 {
		t.Errorf("Dojo created %d intents, want 1", n)
	}
	// A different reference is a different link.
	h.sendCommand(h.commandForm("10.00 GBP ref-124", "c"))
	h.slack.WaitCalls(t, "chat.postMessage", 2, 5*time.Second)
	if n := len(h.dojo.Created()); n != 2 {
		t.Errorf("Dojo created %d intents, want 2", n)
	}
}

// TestRetypeWhileSlow: re-typing while the first is still waiting for Dojo makes no
// second intent.
func TestRetypeWhileSlow(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, nil)
	release := h.dojo.Hold()
	h.sendCommand(h.commandForm("10.00 GBP ref-9", "a"))
	_, body, _ := h.sendCommand(h.commandForm("10.00 GBP ref-9", "b"))
	if text := ephemeralText(t, h.answer(body, "b")); !strings.Contains(text, "already being created") {
		t.Errorf("answer while pending = %q", text)
	}
	release()
	h.slack.WaitCalls(t, "chat.postMessage", 1, 15*time.Second)
	h.settle(t)
	if n := len(h.dojo.Created()); n != 1 {
		t.Errorf("Dojo created %d intents, want 1", n)
	}
}

// TestPrivateChannelFallback: where the bot can't post, response_url carries the link.
func TestPrivateChannelFallback(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, nil)
	for _, code := range []string{"not_in_channel", "channel_not_found"} {
		t.Run(code, func(t *testing.T) {
			h := h.on(t)
			h.slack.Fail("chat.postMessage", fakeslack.Failure{Error: code})
			defer h.slack.ClearFailures()
			name := "fallback-" + code
			h.sendCommand(h.commandForm("12.34 EUR ref-"+code, name))
			waitFor(t, "a response_url message", func() bool { return len(h.slack.Responses(name)) > 0 })
			resp := h.slack.Responses(name)[0]
			if resp.ResponseType != "in_channel" || !strings.Contains(resp.Text, "https://pay.dojo.tech/checkout/pi_") {
				t.Errorf("response_url message = %+v, want the link in the channel", resp)
			}
		})
	}
}

// TestReferenceIsEscaped: nothing a user typed can ping a channel or forge a link.
func TestReferenceIsEscaped(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, nil)
	// Slack sends <, > and & escaped; the reference is "<!channel> & <https://evil|bank>".
	h.sendCommand(h.commandForm("10 GBP &lt;!channel&gt; &amp; &lt;https://evil|bank&gt;", "x"))
	post := h.slack.WaitCalls(t, "chat.postMessage", 1, 5*time.Second)[0]
	all := post.Text + string(post.Blocks)
	for _, bad := range []string{"<!channel>", "<https://evil|bank>"} {
		if strings.Contains(all, bad) {
			t.Errorf("link message contains %q unescaped", bad)
		}
	}
	if !strings.Contains(post.Text, "&lt;!channel&gt; &amp; &lt;https://evil|bank&gt;") {
		t.Errorf("text fallback %q does not show the escaped reference", post.Text)
	}
	sent := h.dojo.Created()[0]
	if sent.Reference != "<!channel> & <https://evil|bank>" {
		t.Errorf("reference sent to Dojo = %q, want Slack's escaping undone", sent.Reference)
	}
}

// TestShutdownDrains: SIGTERM (context cancellation) waits for a link still on its way.
func TestShutdownDrains(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, env{"PAYLINK_ACK_BUDGET": "100ms"})
	h.dojo.SetLatency(1 * time.Second)
	h.sendCommand(h.commandForm("10 GBP drain-1", "d"))
	if err := h.stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	if n := len(h.slack.Calls("chat.postMessage")); n != 1 {
		t.Errorf("after shutdown, %d link messages were posted, want 1", n)
	}
}

func TestMissingConfig(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	err := run(context.Background(), []string{"paylink"}, env{}.lookup, &out, &out)
	if err == nil {
		t.Fatal("run with no configuration succeeded")
	}
	for _, name := range []string{"SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "DOJO_API_KEY"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}

func TestHealthAndReady(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, nil)
	for _, path := range []string{bot.PathHealthz, bot.PathReadyz} {
		resp, err := http.Get(h.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", path, resp.StatusCode)
		}
		if resp.Header.Get(bot.RequestIDHeader) == "" {
			t.Errorf("GET %s has no request id header", path)
		}
	}
}

func TestNotReadyWithoutRedis(t *testing.T) {
	t.Parallel()
	mr := miniredis.RunT(t)
	h := startPaylink(t, miniTarget(t, mr), nil)
	mr.Close()
	resp, err := http.Get(h.url + bot.PathReadyz)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz with Redis down = %d, want 503", resp.StatusCode)
	}
}

// TestEmbeddedRedis: with no REDIS_URL, paylink runs on an in-process Redis and says so.
func TestEmbeddedRedis(t *testing.T) {
	t.Parallel()
	h := startPaylink(t, redisTarget{name: "embedded"}, nil)
	h.sendCommand(h.commandForm("10.00 GBP ref-emb", "e"))
	h.slack.WaitCalls(t, "chat.postMessage", 1, 5*time.Second)
	if !strings.Contains(h.out.String(), "REDIS_URL is not set") {
		t.Errorf("no warning about the embedded Redis in the log")
	}
}

// TestDojoTimeoutRecovered: Dojo creates the intent but its answer comes after
// DOJO_TIMEOUT; paylink finds the intent by its nonce and posts it, rather than leave a
// link nobody knows about and have the agent make a second one.
func TestDojoTimeoutRecovered(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, env{"DOJO_TIMEOUT": "3s"})
	release := h.dojo.AnswerLate()
	h.sendCommand(h.commandForm("10 GBP slow-create", "sc"))
	post := h.slack.WaitCalls(t, "chat.postMessage", 1, 30*time.Second)[0]
	release()
	created := h.dojo.Created()
	if len(created) != 1 || !strings.Contains(post.Text, created[0].ID) {
		t.Fatalf("posted %q; Dojo holds %d intents", post.Text, len(created))
	}
	if created[0].Metadata[bot.MetaNonce] == "" {
		t.Errorf("the intent carries no nonce")
	}
}

// TestInFlightBound: with PAYLINK_MAX_IN_FLIGHT commands under way (Dojo not answering),
// the next waits for a slot and is then told Paylink is busy; nothing piles up.
func TestInFlightBound(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, env{"PAYLINK_MAX_IN_FLIGHT": "1"})
	release := h.dojo.Hold()
	h.sendCommand(h.commandForm("10 GBP busy-1", "b1"))
	_, body, took := h.sendCommand(h.commandForm("10 GBP busy-2", "b2"))
	if text := ephemeralText(t, body); !strings.Contains(text, "very busy") {
		t.Errorf("second command answered %q, want busy", text)
	}
	t.Logf("busy answer after %v", took)
	release()
	h.slack.WaitCalls(t, "chat.postMessage", 1, 15*time.Second)
	if n := len(h.dojo.Created()); n != 1 {
		t.Errorf("%d intents, want 1", n)
	}
}

// TestBurstAdmitted: a burst of 100 commands, with Dojo slow, well under the bound of
// work in flight (PAYLINK_MAX_IN_FLIGHT, 2000): every command is admitted, gets its
// link, and no link is made twice. How long the acknowledgements take on a given
// machine is BenchmarkCommandBurst's (bot); a command over the bound waiting for a slot,
// then told Paylink is busy, is TestAdmissionWaits' and TestBusyWaitFitsSlacksDeadline's.
func TestBurstAdmitted(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, env{"PAYLINK_RATE_LIMIT": "off"})
	h.dojo.SetLatency(300 * time.Millisecond)
	const n = 100
	type answer struct {
		ref  string
		busy bool
		took time.Duration
		err  error
	}
	answers := make(chan answer, n)
	for i := range n {
		go func() {
			ref := fmt.Sprintf("burst-%d", i)
			resp, body, took, err := send(h.commandRequest(h.commandForm("10 GBP "+ref, ref)))
			if err == nil && resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("status %d (%s)", resp.StatusCode, body)
			}
			answers <- answer{ref: ref, busy: strings.Contains(body, "very busy"), took: took, err: err}
		}()
	}
	busy := map[string]bool{}
	var slowest time.Duration
	for range n {
		a := <-answers
		if a.err != nil {
			t.Errorf("%s: %v", a.ref, a.err)
			continue
		}
		if a.busy {
			busy[a.ref] = true
		}
		slowest = max(slowest, a.took)
	}
	if t.Failed() {
		return
	}
	t.Logf("%d of %d commands told Paylink is busy; slowest acknowledgement %v", len(busy), n, slowest)
	if len(busy) > 0 {
		t.Errorf("%d of %d commands told Paylink is busy, under a bound of 2000", len(busy), n)
	}

	posts := h.slack.WaitCalls(t, "chat.postMessage", n-len(busy), 30*time.Second)
	intents, linked := map[string]int{}, map[string]int{}
	for _, pi := range h.dojo.Created() {
		intents[pi.Reference]++
		for _, p := range posts {
			if strings.Contains(p.Text, "https://pay.dojo.tech/checkout/"+pi.ID) {
				linked[pi.Reference]++
			}
		}
	}
	for i := range n {
		ref := fmt.Sprintf("burst-%d", i)
		want := 1
		if busy[ref] {
			want = 0
		}
		if intents[ref] != want || linked[ref] != want {
			t.Errorf("%s (busy: %v): %d intents, %d link messages; want %d", ref, busy[ref], intents[ref], linked[ref], want)
		}
	}
}

// TestCommandReplyFields: the immediate reply to a slash command carries only fields
// that mean something there: response_type, text and, when there are any, blocks. No
// null blocks, no empty metadata, no delete_original (unsupported in that reply).
func TestCommandReplyFields(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, nil)
	h.makeLink("10 GBP INV-18")
	tests := []struct {
		name, text string
		blocks     bool
	}{
		{"help", "help", false},
		{"usage", "10.00 XYZ ref-1", false},
		{"list", "list", false},
		{"duplicate reference", "25 GBP inv-18", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, body, _ := h.sendCommand(h.commandForm(tt.text, "fields-"+tt.name))
			if strings.TrimSpace(body) == "" {
				if tt.blocks {
					t.Skip("the answer came after the acknowledgement, through response_url")
				}
				t.Fatalf("empty reply to %q", tt.text)
			}
			var got map[string]json.RawMessage
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("reply %s: %v", body, err)
			}
			for k, v := range got {
				switch k {
				case "response_type", "text":
				case "blocks":
					if !tt.blocks || string(v) == "null" {
						t.Errorf("reply to %q has blocks %s", tt.text, v)
					}
				default:
					t.Errorf("reply to %q carries %q: %s", tt.text, k, v)
				}
			}
			if _, ok := got["blocks"]; tt.blocks && !ok {
				t.Errorf("reply to %q has no blocks: %s", tt.text, body)
			}
			if string(got["response_type"]) != `"ephemeral"` || len(got["text"]) < 3 {
				t.Errorf("reply to %q = %s, want an ephemeral text", tt.text, body)
			}
		})
	}
}
