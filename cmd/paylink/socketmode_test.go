package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/paylink/paylink/bot/fakeslack"
	"github.com/paylink/paylink/dojo/dojotest"
)

// TestSocketMode: with SLACK_APP_TOKEN, commands and interactions arrive over Socket
// Mode, go through the same handlers, and are acknowledged within 3 seconds.
func TestSocketMode(t *testing.T) {
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

	start := time.Now()
	id := s.SocketSend(t, "slash_commands", command("10.00 GBP ref-socket", "s1"))
	s.SocketAck(t, id, 3*time.Second)
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("acknowledged after %v", took)
	}
	post := s.WaitCalls(t, "chat.postMessage", 1, 5*time.Second)[0]
	created := h.dojo.Created()
	if len(created) != 1 || !strings.Contains(post.Text, "https://pay.dojo.tech/checkout/"+created[0].ID) {
		t.Fatalf("link message %q; intents %d", post.Text, len(created))
	}

	id = s.SocketSend(t, "slash_commands", command("0 GBP x", "s2"))
	var msg struct {
		ResponseType string `json:"response_type"`
		Text         string `json:"text"`
	}
	if err := json.Unmarshal(s.SocketAck(t, id, 3*time.Second), &msg); err != nil || msg.ResponseType != "ephemeral" || !strings.Contains(msg.Text, "Usage: /paylink") {
		t.Errorf("bad command acknowledged with %+v (%v)", msg, err)
	}

	press := h.buttonPress("U2147483697", "C2147483705", post.TS, "refresh_status", created[0].ID, "s3")
	id = s.SocketSend(t, "interactive", press)
	s.SocketAck(t, id, 3*time.Second)
	if text := lastResponse(t, h, "s3"); !strings.Contains(text, "Open") {
		t.Errorf("refresh over Socket Mode answered %q", text)
	}
	if !strings.Contains(h.out.String(), "Socket Mode is on") {
		t.Errorf("no log line saying Socket Mode is on")
	}
}
