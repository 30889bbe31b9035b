package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestReminderInThread: with PAYLINK_REMIND_AFTER=1s, a link left unpaid gets a
// reminder in its card's thread that mentions the agent and offers Cancel link.
func TestReminderInThread(t *testing.T) {
	t.Parallel()
	for _, r := range redisTargets(t) {
		t.Run(r.name, func(t *testing.T) {
			h := startPaylink(t, r, env{"PAYLINK_REMIND_AFTER": "1s"})
			resp, body, _ := h.sendCommand(h.commandForm("10.00 GBP remind-1", "r1"))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d (%s)", resp.StatusCode, body)
			}
			posts := h.slack.WaitCalls(t, "chat.postMessage", 2, 20*time.Second)
			card, reminder := posts[0], posts[1]
			if reminder.ThreadTS == "" || reminder.ThreadTS != card.TS || reminder.Channel != card.Channel {
				t.Errorf("reminder in %s thread %q, want the card's thread %s/%s", reminder.Channel, reminder.ThreadTS, card.Channel, card.TS)
			}
			if !strings.Contains(reminder.Text, "<@U2147483697>") || !strings.Contains(reminder.Text, "still unpaid") ||
				!strings.Contains(string(reminder.Blocks), `"cancel_link"`) {
				t.Errorf("reminder = %q %s", reminder.Text, reminder.Blocks)
			}
		})
	}
}

// TestRemindAfterSetting: off, a duration of 1s or more, or a clear refusal.
func TestRemindAfterSetting(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		value string
		want  time.Duration
		ok    bool
	}{
		{"", 24 * time.Hour, true},
		{"off", 0, true},
		{"OFF", 0, true},
		{"90m", 90 * time.Minute, true},
		{"1s", time.Second, true},
		{"500ms", 0, false},
		{"soon", 0, false},
		{"-1h", 0, false},
	} {
		cfg, _, err := loadConfig(merge(required, env{"PAYLINK_REMIND_AFTER": tt.value}).lookup)
		if (err == nil) != tt.ok || tt.ok && cfg.Due.RemindAfter != tt.want {
			t.Errorf("PAYLINK_REMIND_AFTER=%q: %v, %v; want %v (ok %v)", tt.value, cfg.Due.RemindAfter, err, tt.want, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "PAYLINK_REMIND_AFTER") {
			t.Errorf("PAYLINK_REMIND_AFTER=%q: the error does not name the setting: %v", tt.value, err)
		}
	}
}
