package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/paylink/paylink/bot/fakeslack"
	"github.com/paylink/paylink/dojo/dojotest"
)

// ackWait bounds the wait for an acknowledgement over Socket Mode: long enough for a
// busy machine; that acknowledgements don't wait on Dojo is asserted, not timed.
const ackWait = 15 * time.Second

// TestSocketMode: with SLACK_APP_TOKEN, commands and interactions arrive over Socket
// Mode, go through the same handlers, and are acknowledged without waiting on Dojo.
func TestSocketMode(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	s := fakeslack.New(t, fakeslack.WithToken(testBotToken), fakeslack.WithAppToken("xapp-1-test"))
	h := startPaylinkWith(t, r, merge(fastNotify, env{"SLACK_APP_TOKEN": "xapp-1-test"}),
		dojotest.NewServer(t, dojotest.WithAPIKey(testDojoKey)), s)
	command := func(text, name string) map[string]any {
		out := map[string]any{}
		for k, v := range h.commandForm(text, name) {
			out[k] = v[0]
		}
		return out
	}

	release := h.dojo.Hold()
	id := s.SocketSend(t, "slash_commands", command("10.00 GBP ref-socket", "s1"))
	s.SocketAck(t, id, ackWait)
	if n := len(s.Calls("chat.postMessage")); n != 0 {
		t.Errorf("%d link messages before Dojo answered", n)
	}
	release()
	post := s.WaitCalls(t, "chat.postMessage", 1, 15*time.Second)[0]
	created := h.dojo.Created()
	if len(created) != 1 || !strings.Contains(post.Text, "https://pay.dojo.tech/checkout/"+created[0].ID) {
		t.Fatalf("link message %q; intents %d", post.Text, len(created))
	}

	id = s.SocketSend(t, "slash_commands", command("0 GBP x", "s2"))
	var msg struct {
		ResponseType string `json:"response_type"`
		Text         string `json:"text"`
	}
	if err := json.Unmarshal(s.SocketAck(t, id, ackWait), &msg); err != nil || msg.ResponseType != "ephemeral" || !strings.Contains(msg.Text, "Usage: /paylink") {
		t.Errorf("bad command acknowledged with %+v (%v)", msg, err)
	}

	press := h.buttonPress("U2147483697", "C2147483705", post.TS, "refresh_status", created[0].ID, "s3")
	id = s.SocketSend(t, "interactive", press)
	s.SocketAck(t, id, ackWait)
	if text := lastResponse(t, h, "s3"); !strings.Contains(text, "Open") {
		t.Errorf("refresh over Socket Mode answered %q", text)
	}
	if !strings.Contains(h.out.String(), "Socket Mode is on") {
		t.Errorf("no log line saying Socket Mode is on")
	}
}

// TestSocketModeReconnects: when Slack asks the bot to reconnect, it opens a new
// connection and keeps answering; its log never shows the tokens, and a token that
// isn't app-level gets a warning.
func TestSocketModeReconnects(t *testing.T) {
	t.Parallel()
	const appToken = "app-token-without-prefix"
	s := fakeslack.New(t, fakeslack.WithToken(testBotToken), fakeslack.WithAppToken(appToken))
	h := startPaylinkWith(t, redisTargets(t)[0], env{"SLACK_APP_TOKEN": appToken},
		dojotest.NewServer(t, dojotest.WithAPIKey(testDojoKey)), s)
	command := func(text, name string) map[string]any {
		out := map[string]any{}
		for k, v := range h.commandForm(text, name) {
			out[k] = v[0]
		}
		return out
	}
	usage := func(id string) {
		t.Helper()
		var msg struct{ Text string }
		if err := json.Unmarshal(s.SocketAck(t, id, ackWait), &msg); err != nil || !strings.Contains(msg.Text, "Usage: /paylink") {
			t.Fatalf("acknowledged with %+v (%v)", msg, err)
		}
	}

	usage(s.SocketSend(t, "slash_commands", command("0 GBP x", "r1")))
	s.SocketDisconnect(t, "refresh_requested")
	usage(s.SocketSend(t, "slash_commands", command("0 GBP y", "r2")))
	if n := s.SocketConnections(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}

	// An envelope type paylink doesn't use is still acknowledged, empty.
	id := s.SocketSend(t, "events_api", map[string]any{"type": "event_callback", "team_id": "T0001",
		"event": map[string]any{"type": "app_mention", "text": "hi"}})
	if got := s.SocketAck(t, id, ackWait); string(got) != "null" {
		t.Errorf("event acknowledged with %s", got)
	}

	if err := h.stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	logs := h.out.String()
	for _, want := range []string{"Socket Mode is on", "connected to Slack", "does not start with xapp-"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	for _, secret := range []string{appToken, testBotToken} {
		if strings.Contains(logs, secret) {
			t.Errorf("log shows a token")
		}
	}
}
