package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/paylink/paylink/bot"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/dojo/dojotest"
)

// signedRequest builds a request to path signed as Slack signs it.
func (h *harness) signedRequest(path, contentType string, body []byte) *http.Request {
	ts, sig := bot.SignSlackRequest(testSigningSecret, time.Now(), body)
	req, _ := http.NewRequest(http.MethodPost, h.url+path, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", sig)
	return req
}

// TestHostileInput: each hostile request gets a clear answer, reaches neither Dojo nor
// Slack, and leaves nothing in Redis.
func TestHostileInput(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, fastNotify)
	form := "application/x-www-form-urlencoded"
	cmd := func(text string) []byte { return []byte(h.commandForm(text, "hostile").Encode()) }
	nested := []byte(`{"id":"evt_1","event":"payment_intent.status_updated","data":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`)
	interaction := func(payload string) []byte { return []byte(url.Values{"payload": {payload}}.Encode()) }
	tests := []struct {
		name   string
		req    *http.Request
		status int
		answer string // in the ephemeral answer, when 200
	}{
		{"command as JSON", h.signedRequest(bot.PathCommands, "application/json", []byte(`{"text":"10 GBP x"}`)), 400, ""},
		{"command without a content type", h.signedRequest(bot.PathCommands, "", cmd("10 GBP x")), 400, ""},
		{"interaction as JSON", h.signedRequest(bot.PathInteractions, "application/json", []byte(`{"type":"block_actions"}`)), 400, ""},
		{"interaction too large", h.signedRequest(bot.PathInteractions, form, bytes.Repeat([]byte("a"), 300<<10)), 413, ""},
		{"interaction not JSON", h.signedRequest(bot.PathInteractions, form, interaction("{not json")), 400, ""},
		{"interaction deeply nested", h.signedRequest(bot.PathInteractions, form, interaction(`{"type":"block_actions","user":{"id":"U1"},"actions":`+strings.Repeat("[", 20000)+strings.Repeat("]", 20000)+`}`)), 400, ""},
		{"interaction without payload", h.signedRequest(bot.PathInteractions, form, []byte("x=1")), 400, ""},
		{"look-alike digits", h.signedRequest(bot.PathCommands, form, cmd("١٠ GBP ref")), 200, "digits"},
		{"full-width digits", h.signedRequest(bot.PathCommands, form, cmd("１０ GBP ref")), 200, "digits"},
		{"look-alike currency sign", h.signedRequest(bot.PathCommands, form, cmd("₤10 ref")), 200, "Usage"},
		{"dollar sign", h.signedRequest(bot.PathCommands, form, cmd("$10 ref")), 200, "$"},
		{"right-to-left override", h.signedRequest(bot.PathCommands, form, cmd("10 GBP ref\u202e321")), 200, "invisible"},
		{"zero-width space", h.signedRequest(bot.PathCommands, form, cmd("10 GBP re\u200bf")), 200, "invisible"},
		{"newline in reference", h.signedRequest(bot.PathCommands, form, cmd("10 GBP ref\nDear customer")), 200, "control"},
		{"NUL in reference", h.signedRequest(bot.PathCommands, form, cmd("10 GBP ref\x00x")), 200, "control"},
		{"invalid UTF-8", h.signedRequest(bot.PathCommands, form, []byte("text=10+GBP+%ff%fe&team_id=T0001&user_id=U1&channel_id=C1")), 200, "could not be read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body, _ := h.on(t).do(tt.req)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, tt.status)
			}
			if tt.answer != "" && !strings.Contains(ephemeralText(t, body), tt.answer) {
				t.Errorf("answer %q lacks %q", body, tt.answer)
			}
		})
	}
	t.Run("interaction with a bad signature", func(t *testing.T) {
		h := h.on(t)
		req := h.signedRequest(bot.PathInteractions, form, interaction(`{"type":"block_actions","user":{"id":"U1"}}`))
		req.Header.Set("X-Slack-Signature", "v0="+strings.Repeat("0", 64))
		if resp, _, _ := h.do(req); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("status %d, want 401", resp.StatusCode)
		}
	})
	t.Run("interaction without a signature", func(t *testing.T) {
		h := h.on(t)
		req, _ := http.NewRequest(http.MethodPost, h.url+bot.PathInteractions, strings.NewReader(string(interaction(`{"type":"block_actions","user":{"id":"U1"}}`))))
		req.Header.Set("Content-Type", form)
		if resp, _, _ := h.do(req); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("status %d, want 401", resp.StatusCode)
		}
	})
	t.Run("webhook deeply nested", func(t *testing.T) {
		h := h.on(t)
		if code := h.sendWebhook(nested); code != 400 {
			t.Errorf("status %d, want 400", code)
		}
	})
	t.Run("webhook as a form", func(t *testing.T) {
		h := h.on(t)
		body := dojotest.Event("pi_x", dojo.StatusCaptured)
		req, _ := http.NewRequest(http.MethodPost, h.url+bot.PathDojoWebhooks, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("dojo-signature", dojo.SignWebhook(testWebhookSecret, body))
		if resp, _, _ := h.do(req); resp.StatusCode != 400 {
			t.Errorf("status %d, want 400", resp.StatusCode)
		}
	})
	time.Sleep(200 * time.Millisecond)
	if n := h.dojoCalls(); n != 0 {
		t.Errorf("hostile requests reached Dojo %d times", n)
	}
	if keys := append(r.keys(t, "link:*"), r.keys(t, "*cmd:*")...); len(keys) != 0 {
		t.Errorf("hostile requests left records: %v", keys)
	}
	for _, c := range h.slack.AllCalls() {
		t.Errorf("hostile request made a Slack call: %s", c.Method)
	}
}

// TestReplayedRequests: a Slack request sent again with the same signature is refused;
// a webhook delivered again changes nothing.
func TestReplayedRequests(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	// A create command's replay is found with its claim: give it time to answer in the
	// request, so the test sees the 401.
	h := startPaylink(t, r, merge(fastNotify, env{"PAYLINK_ACK_BUDGET": "2s"}))
	for _, text := range []string{"10 GBP replay-1", "help", "0 GBP bad", "list"} {
		body := h.commandForm(text, "rp").Encode()
		req := h.signedRequest(bot.PathCommands, "application/x-www-form-urlencoded", []byte(body))
		again, _ := http.NewRequest(http.MethodPost, req.URL.String(), strings.NewReader(body))
		again.Header = req.Header.Clone()
		if resp, b, _ := h.do(req); resp.StatusCode != 200 {
			t.Fatalf("%q first: %d %s", text, resp.StatusCode, b)
		}
		if resp, _, _ := h.do(again); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%q replayed: %d, want 401", text, resp.StatusCode)
		}
	}
	if n := len(h.dojo.Created()); n != 1 {
		t.Errorf("%d intents, want 1", n)
	}
	id := h.dojo.Created()[0].ID
	press := h.buttonPress("U2147483697", "C2147483705", "1.1", "cancel_link", id, "rp-cancel")
	first := h.signedInteraction(press)
	second, _ := http.NewRequest(http.MethodPost, first.URL.String(), strings.NewReader(h.interactionBody(press)))
	second.Header = first.Header.Clone()
	h.do(first)
	if resp, _, _ := h.do(second); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("replayed interaction: %d, want 401", resp.StatusCode)
	}
}

func (h *harness) interactionBody(payload any) string {
	b, _ := jsonMarshal(payload)
	return url.Values{"payload": {string(b)}}.Encode()
}

func (h *harness) signedInteraction(payload any) *http.Request {
	return h.signedRequest(bot.PathInteractions, "application/x-www-form-urlencoded", []byte(h.interactionBody(payload)))
}

// TestSlowClient: a client that sends its headers too slowly is cut off.
func TestSlowClient(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(h.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	conn.Write([]byte("POST /slack/commands HTTP/1.1\r\nHost: paylink\r\n"))
	conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	took := time.Since(start)
	if err == nil {
		resp.Body.Close()
	}
	if took > 8*time.Second {
		t.Errorf("a client stuck in its headers held the connection for %v", took)
	}
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
