package slackout

import (
	"strings"
	"testing"
	"time"

	"github.com/paylink/paylink/bot/slackout/slackouttest"
	"github.com/paylink/paylink/store"
)

// TestReminderGolden renders the reminder and compares it with
// testdata/reminder.json (go test -update rewrites it); at its largest it keeps
// within Block Kit's limits and escapes what the agent typed.
func TestReminderGolden(t *testing.T) {
	l := &store.Link{IntentID: "pi_sandbox_golden", TeamID: "T1", ChannelID: "C1", UserID: "U1",
		Amount: 1000, Currency: "GBP", Reference: "ref-123 <!channel>", CreatedAt: time.Unix(1_700_000_000, 0), TestMode: true}
	text, blocks := Reminder(l, 26*time.Hour, "https://pay.dojo.tech/checkout/")
	if strings.Contains(text, "<!channel>") || !strings.Contains(text, "&lt;!channel&gt;") {
		t.Errorf("the reference is not escaped: %q", text)
	}
	goldenJSON(t, "reminder.json", map[string]any{"text": text, "blocks": blocks})

	l.Reference = strings.Repeat("<", 60)
	_, blocks = Reminder(l, 30*24*time.Hour, "https://pay.dojo.tech/checkout/")
	for _, p := range slackouttest.LimitProblems(blocks, 50) {
		t.Error(p)
	}
}
