package slackout

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/paylink/paylink/bot/slackout/slackouttest"
	"github.com/paylink/paylink/store"
)

// worstLink is a record with every user-typed field at its longest and full of
// characters that grow when escaped.
func worstLink(status string) *store.Link {
	return &store.Link{
		IntentID:    "pi_sandbox_" + strings.Repeat("A", 22),
		TeamID:      "T0001",
		ChannelID:   "C2147483705",
		UserID:      "U2147483697",
		Amount:      999999999999,
		Currency:    "GBP",
		Reference:   strings.Repeat("&", 60),
		Description: strings.Repeat("<", 500),
		Status:      status,
		CreatedAt:   time.Unix(1_700_000_000, 0),
		ExpiresAt:   time.Unix(1_702_592_000, 0),
		StatusAt:    time.Unix(1_700_003_600, 0),
		TestMode:    true,
	}
}

// checkBlocks fails the test where blocks break Slack's Block Kit limits.
func checkBlocks(t *testing.T, where string, blocks []slack.Block, maxBlocks int) {
	t.Helper()
	for _, p := range slackouttest.LimitProblems(blocks, maxBlocks) {
		t.Errorf("%s: %s", where, p)
	}
}

// TestCardStates renders the card in every state at its largest and checks it against
// Slack's limits, the buttons each state offers, and that nothing typed is unescaped.
func TestCardStates(t *testing.T) {
	tests := []struct {
		status  string
		buttons []string
		shows   string
	}{
		{"Created", []string{ActionOpenCheckout, ActionRefresh, ActionCancel}, "Open: waiting for payment"},
		{"Authorized", []string{ActionOpenCheckout, ActionRefresh, ActionCancel}, "Authorized"},
		{"Captured", []string{ActionRefund}, "Paid"},
		{"Canceled", []string{ActionNewLink}, "Canceled"},
		{store.StatusExpired, []string{ActionNewLink}, "Expired"},
		{"Refunded", []string{ActionRefund}, "Refunded"},
		{"Reversed", nil, "Reversed"},
	}
	for _, tt := range tests {
		t.Run(tt.status, func(t *testing.T) {
			text, blocks := Card(worstLink(tt.status), "https://pay.dojo.tech/checkout/")
			checkBlocks(t, tt.status, blocks, 50)
			raw, _ := json.Marshal(blocks)
			all := text + string(raw)
			if strings.Contains(all, "<<") || strings.Contains(all, "&&") {
				t.Errorf("unescaped user text in the card")
			}
			if !strings.Contains(string(raw), tt.shows) || !strings.Contains(text, "TEST MODE") {
				t.Errorf("card does not show %q", tt.shows)
			}
			for _, id := range []string{ActionOpenCheckout, ActionRefresh, ActionCancel, ActionNewLink, ActionRefund} {
				want := false
				for _, b := range tt.buttons {
					want = want || b == id
				}
				if got := strings.Contains(string(raw), `"action_id":"`+id+`"`); got != want {
					t.Errorf("button %s present = %v, want %v", id, got, want)
				}
			}
			if utf8.RuneCountInString(text) > 4000 {
				t.Errorf("text fallback is %d characters", utf8.RuneCountInString(text))
			}
		})
	}
}

func TestNotices(t *testing.T) {
	l := worstLink("Captured")
	for _, st := range []string{"Captured", "Canceled", "Refunded", "Reversed", store.StatusExpired} {
		n := Notice(l, st)
		if strings.Contains(n, "<<") || strings.Contains(n, "&&") || utf8.RuneCountInString(n) > 3000 {
			t.Errorf("%s notice %q", st, n)
		}
	}
	if !strings.Contains(Notice(l, "Captured"), "Paid: £9,999,999,999.99") {
		t.Errorf("Paid notice = %q", Notice(l, "Captured"))
	}
}

func BenchmarkRenderCard(b *testing.B) {
	l := &store.Link{IntentID: "pi_sandbox_G_FeegU8WESxtY_Nct8jqw", UserID: "U2147483697", Amount: 1000, Currency: "GBP",
		Reference: "ref-123", Status: "Created", CreatedAt: time.Unix(1_700_000_000, 0), ExpiresAt: time.Unix(1_702_592_000, 0), TestMode: true}
	b.ReportAllocs()
	for b.Loop() {
		Card(l, "https://pay.dojo.tech/checkout/")
	}
}

func BenchmarkRenderCardJSON(b *testing.B) {
	l := &store.Link{IntentID: "pi_sandbox_G_FeegU8WESxtY_Nct8jqw", UserID: "U2147483697", Amount: 1000, Currency: "GBP",
		Reference: "ref-123", Status: "Created", CreatedAt: time.Unix(1_700_000_000, 0), ExpiresAt: time.Unix(1_702_592_000, 0), TestMode: true}
	b.ReportAllocs()
	for b.Loop() {
		_, blocks := Card(l, "https://pay.dojo.tech/checkout/")
		if _, err := json.Marshal(blocks); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNoticeText(b *testing.B) {
	l := &store.Link{Amount: 1000, Currency: "GBP", Reference: "ref-123"}
	b.ReportAllocs()
	for b.Loop() {
		Notice(l, "Captured")
	}
}
