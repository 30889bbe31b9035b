package slackout

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
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
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(map[string]any{"text": text, "blocks": blocks}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "reminder.json")
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("%s differs from what Reminder renders:\n%s", path, b.String())
	}

	l.Reference = strings.Repeat("<", 60)
	_, blocks = Reminder(l, 30*24*time.Hour, "https://pay.dojo.tech/checkout/")
	for _, p := range slackouttest.LimitProblems(blocks, 50) {
		t.Error(p)
	}
}
