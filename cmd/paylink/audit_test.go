package main

import (
	"context"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/paylink/paylink/bot/fakeslack"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/dojo/dojotest"
)

// TestAuditTrail: links created, canceled and paid, and refusals, reach the audit
// stream, and `paylink audit` prints them as CSV.
func TestAuditTrail(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, merge(fastNotify, env{"PAYLINK_ALLOWED_CHANNELS": "C2147483705"}))
	paid, _ := h.makeLink("10.00 GBP =cmd|' /C calc'!A0")
	h.dojo.SetStatus(paid, dojo.StatusCaptured)
	h.sendWebhook(dojotest.Event(paid, dojo.StatusCaptured))
	waitNotices(t, h.slack, "Paid", 1, 5*time.Second)
	h.sendCommand(h.commandForm("0 GBP bad", "bad"))
	other := h.commandForm("10 GBP elsewhere", "elsewhere")
	other.Set("channel_id", "C_NOT_ALLOWED")
	_, body, _ := h.sendCommand(other)
	if !strings.Contains(ephemeralText(t, body), "can't be created in this channel") {
		t.Errorf("command in a channel not allowed answered %q", body)
	}
	h.makeLink("5 EUR to-cancel")
	h.sendCommand(h.commandForm("cancel to-cancel", "c"))

	var out strings.Builder
	waitFor(t, "six audit events", func() bool {
		out.Reset()
		if err := runAudit(context.Background(), []string{"--since", "1h"}, env{"REDIS_URL": r.url, "PAYLINK_REDIS_PREFIX": r.prefix}.lookup, &out); err != nil {
			t.Fatal(err)
		}
		rows, _ := csv.NewReader(strings.NewReader(out.String())).ReadAll()
		return len(rows) >= 7
	})
	rows, err := csv.NewReader(strings.NewReader(out.String())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, row := range rows[1:] {
		got[row[1]]++
		if row[1] == "created" && row[5] != "10.00" && row[5] != "5.00" {
			t.Errorf("created row amount %q", row[5])
		}
		if strings.HasPrefix(row[7], "=") {
			t.Errorf("a reference starting with = was written as a formula: %q", row[7])
		}
	}
	for event, n := range map[string]int{"created": 2, "paid": 1, "refused": 2, "canceled": 1} {
		if got[event] != n {
			t.Errorf("%d %q audit events, want %d\n%s", got[event], event, n, out.String())
		}
	}
	if !strings.Contains(h.out.String(), `"audit":{"event":"paid"`) {
		t.Errorf("audit events are not in the log")
	}
	if err := runAudit(context.Background(), nil, env{}.lookup, &out); err == nil || !strings.Contains(err.Error(), "REDIS_URL") {
		t.Errorf("audit without REDIS_URL: %v", err)
	}
}

// TestAccessPolicy: allow-lists of users and user groups, admins passing them, and the
// per-user rate limit.
func TestAccessPolicy(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	d := dojotest.NewServer(t, dojotest.WithAPIKey(testDojoKey))
	s := fakeslack.New(t, fakeslack.WithToken(testBotToken))
	s.SetUsergroup("S_SUPPORT", "U_IN_GROUP")
	h := startPaylinkWith(t, r, merge(fastNotify, env{
		"PAYLINK_ALLOWED_USERS":      "U2147483697",
		"PAYLINK_ALLOWED_USERGROUPS": "S_SUPPORT",
		"PAYLINK_ADMINS":             "U_ADMIN",
		"PAYLINK_RATE_LIMIT":         "2/h",
	}), d, s)
	as := func(user, text string) string {
		f := h.commandForm(text, "p-"+user+text)
		f.Set("user_id", user)
		_, body, _ := h.sendCommand(f)
		if strings.TrimSpace(body) != "" {
			return ephemeralText(t, body)
		}
		// A link made, or a refusal that came after the acknowledgement.
		deadline := time.Now().Add(3 * time.Second)
		for time.Now().Before(deadline) {
			if r := h.slack.Responses("p-" + user + text); len(r) > 0 {
				return r[0].Text
			}
			if len(d.Created()) > 0 && strings.Contains(d.Created()[len(d.Created())-1].Reference, strings.Fields(text)[2]) {
				return ""
			}
			time.Sleep(10 * time.Millisecond)
		}
		return ""
	}
	if text := as("U_STRANGER", "10 GBP p1"); !strings.Contains(text, "not among the people") {
		t.Errorf("stranger: %q", text)
	}
	if text := as("U_IN_GROUP", "10 GBP p2"); text != "" {
		t.Errorf("user group member: %q, want the link", text)
	}
	if text := as("U_ADMIN", "10 GBP p3"); text != "" {
		t.Errorf("admin: %q, want the link", text)
	}
	if n := len(s.Calls("usergroups.users.list")); n != 1 {
		t.Errorf("usergroups.users.list called %d times, want 1 (cached)", n)
	}
	as("U2147483697", "10 GBP p4")
	as("U2147483697", "0 GBP refused-does-not-count")
	as("U2147483697", "10 GBP p5")
	if text := as("U2147483697", "10 GBP p6"); !strings.Contains(text, "2 payment links in the last 1 hour") {
		t.Errorf("third link in the hour: %q", text)
	}
	if n := len(d.Created()); n != 4 {
		t.Errorf("%d intents created, want 4", n)
	}
}
