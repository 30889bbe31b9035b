package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/paylink/paylink/bot/fakeslack"
	"github.com/paylink/paylink/dojo/dojotest"
)

// TestButtonsApplyTodaysPolicy: a button makes a link only under the policy in force
// when it is pressed, whatever it was when the card was made; each refusal is told to
// the agent and audited, and nothing reaches Dojo.
func TestButtonsApplyTodaysPolicy(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	// A card made while the cap was 20,000.
	before := startPaylink(t, r, merge(fastNotify, env{"PAYLINK_MAX_AMOUNT": "20000"}))
	old, _ := before.makeLink("15000 GBP big-order")
	if err := before.stop(); err != nil {
		t.Fatal(err)
	}

	// Today the cap is 10,000, and only C2147483705 may take payments.
	h := startPaylinkWith(t, r, merge(fastNotify, env{"PAYLINK_ALLOWED_CHANNELS": "C2147483705"}),
		dojotest.NewServer(t, dojotest.WithAPIKey(testDojoKey)), fakeslack.New(t, fakeslack.WithToken(testBotToken)))
	anyway := func(amount int64, ref string) string {
		b, _ := json.Marshal(map[string]any{"a": amount, "c": "GBP", "r": ref})
		return string(b)
	}
	presses := []struct {
		name, channel, action, value, want string
	}{
		{"New link on a card made under a higher cap", "C2147483705", "new_link", old, "more than the £10,000.00 limit"},
		{"Create another anyway over the cap", "C2147483705", "create_anyway", anyway(1500000, "big-2"), "more than the £10,000.00 limit"},
		{"Create another anyway in a channel not allowed", "C999", "create_anyway", anyway(1000, "small-1"), "channel"},
	}
	for i, p := range presses {
		name := "press-" + string(rune('a'+i))
		h.sendInteraction(h.buttonPress("U2147483697", p.channel, "1.1", p.action, p.value, name))
		text := lastResponse(t, h, name)
		if !strings.Contains(text, p.want) {
			t.Errorf("%s: answered %q, want it to say %q", p.name, text, p.want)
		}
	}
	waitFor(t, "three refusals audited", func() bool { return len(auditEvents(t, r, "refused")) >= 3 })
	time.Sleep(200 * time.Millisecond)
	if n := len(h.dojo.Created()); n != 0 {
		t.Errorf("%d intents created by refused presses", n)
	}
	if got := auditEvents(t, r, "refused"); len(got) != 3 {
		t.Errorf("%d refusals audited, want 3: %v", len(got), got)
	}
}
