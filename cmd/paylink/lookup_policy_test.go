package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestLookupsFollowPolicy: list and status are bound by the allow-lists like creating
// a link; a link from another channel is shown only to the agent who asked for it and
// to admins; look-ups are limited per user, and Dojo's answer is reused for a few
// seconds.
func TestLookupsFollowPolicy(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, merge(fastNotify, env{
		"PAYLINK_ACK_BUDGET":    "2s",
		"PAYLINK_ALLOWED_USERS": "U2147483697,U_COLLEAGUE",
		"PAYLINK_ADMINS":        "U_ADMIN",
	}))
	id, _ := h.makeLink("10 GBP private-ref")
	n := 0
	ask := func(user, channel, text string) string {
		t.Helper()
		n++ // each a request of its own, not a replay
		name := fmt.Sprintf("%s-%s-%s-%d", user, channel, strings.ReplaceAll(text, " ", "_"), n)
		form := h.commandForm(text, name)
		form.Set("user_id", user)
		form.Set("channel_id", channel)
		_, body, _ := h.sendCommand(form)
		return ephemeralText(t, h.answer(body, name))
	}
	for _, text := range []string{"list", "status private-ref", "status " + id} {
		if got := ask("U_STRANGER", "C2147483705", text); !strings.Contains(got, "not among the people") {
			t.Errorf("%q from a user no list allows: %q, want refused", text, got)
		}
	}
	waitFor(t, "the refused look-ups' audit entries", func() bool { return len(auditEvents(t, r, "refused")) > 0 })
	for _, c := range []struct {
		user, channel string
		shown         bool
	}{
		{"U_COLLEAGUE", "C_ELSEWHERE", false}, // allowed, but not the requester, in another channel
		{"U_COLLEAGUE", "C2147483705", true},  // the link's own channel
		{"U2147483697", "C_ELSEWHERE", true},  // the requester, anywhere
		{"U_ADMIN", "C_ELSEWHERE", true},      // an admin
	} {
		got := ask(c.user, c.channel, "status private-ref")
		if shown := strings.Contains(got, "private-ref") && !strings.Contains(got, "No payment link"); shown != c.shown {
			t.Errorf("status from %s in %s: %q, shown %v, want %v", c.user, c.channel, got, shown, c.shown)
		}
	}
	before := len(h.dojo.Requests())
	limited := 0
	for range 24 {
		if strings.Contains(ask("U2147483697", "C2147483705", "status "+id), "the most allowed") {
			limited++
		}
	}
	if limited == 0 {
		t.Errorf("24 status commands in a row were never limited")
	}
	if gets := len(h.dojo.Requests()) - before; gets > 3 {
		t.Errorf("24 status commands for one link made %d Dojo requests, want Dojo's answer reused", gets)
	}
}
