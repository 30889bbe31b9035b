package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestSameReferenceSameMoment: two agents ask for links with one reference while Dojo
// is still creating the first: the second is told a link for it is on its way, and
// only one link is made.
func TestSameReferenceSameMoment(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, fastNotify)
	release := h.dojo.Hold()
	first := h.commandForm("10 GBP INV-77", "first")
	if resp, _, _ := h.sendCommand(first); resp.StatusCode != 200 {
		t.Fatalf("first: %d", resp.StatusCode)
	}
	waitFor(t, "the first create to reach Dojo", func() bool { return len(h.dojo.Requests()) == 1 })
	second := h.commandForm("25 GBP inv-77", "second")
	second.Set("user_id", "U_OTHER")
	_, body, _ := h.sendCommand(second)
	if text := ephemeralText(t, h.answer(body, "second")); !strings.Contains(text, "being created right now") {
		t.Errorf("the second command was answered %q, want told a link for the reference is being created", text)
	}
	release()
	waitFor(t, "the first link", func() bool { return len(h.dojo.Created()) == 1 })
	time.Sleep(200 * time.Millisecond)
	if n := len(h.dojo.Created()); n != 1 {
		t.Errorf("%d intents for one reference asked for at the same moment, want 1", n)
	}
}

// TestFormRefusalAudited: a form submitted for a channel the allow-list refuses is
// told so and audited, and makes nothing.
func TestFormRefusalAudited(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, merge(fastNotify, env{"PAYLINK_ALLOWED_CHANNELS": "C_ONLY"}))
	form := h.commandForm("", "form")
	form.Set("channel_id", "C_ONLY")
	h.sendCommand(form)
	opens := h.slack.WaitCalls(t, "views.open", 1, 5*time.Second)
	var view struct {
		PrivateMetadata string `json:"private_metadata"`
	}
	json.Unmarshal([]byte(opens[0].Params.Get("view")), &view)
	// The same form, as if opened in another channel.
	var origin map[string]any
	json.Unmarshal([]byte(view.PrivateMetadata), &origin)
	origin["c"] = "C_ELSEWHERE"
	meta, _ := json.Marshal(origin)
	h.sendInteraction(formSubmission(string(meta), "10", "GBP", "form-ref", ""))
	waitFor(t, "the refusal's audit entry", func() bool { return len(auditEvents(t, r, "refused")) == 1 })
	time.Sleep(200 * time.Millisecond)
	if n := len(h.dojo.Created()); n != 0 {
		t.Errorf("%d intents from a refused form", n)
	}
}
