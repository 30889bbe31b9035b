package bot

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/paylink/paylink/dojo"
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
		Reference:   strings.Repeat("&", MaxReferenceLen),
		Description: strings.Repeat("<", maxDescriptionIn),
		Status:      status,
		CreatedAt:   time.Unix(1_700_000_000, 0),
		ExpiresAt:   time.Unix(1_702_592_000, 0),
		StatusAt:    time.Unix(1_700_003_600, 0),
		TestMode:    true,
	}
}

// checkBlocks checks Block Kit JSON against Slack's documented limits.
func checkBlocks(t *testing.T, where string, blocks []slack.Block, maxBlocks int) {
	t.Helper()
	raw, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	var bs []map[string]any
	if err := json.Unmarshal(raw, &bs); err != nil {
		t.Fatal(err)
	}
	if len(bs) == 0 || len(bs) > maxBlocks {
		t.Errorf("%s: %d blocks, want 1..%d", where, len(bs), maxBlocks)
	}
	text := func(v any) string {
		m, _ := v.(map[string]any)
		s, _ := m["text"].(string)
		return s
	}
	limit := func(what, s string, n int) {
		if c := utf8.RuneCountInString(s); c > n {
			t.Errorf("%s: %s is %d characters, limit %d", where, what, c, n)
		}
	}
	actionIDs := map[string]bool{}
	for i, b := range bs {
		kind, _ := b["type"].(string)
		at := fmt.Sprintf("block %d (%s)", i, kind)
		if id, ok := b["block_id"].(string); ok {
			limit(at+" block_id", id, 255)
		}
		switch kind {
		case "header":
			limit(at+" text", text(b["text"]), 150)
		case "section":
			limit(at+" text", text(b["text"]), 3000)
			fields, _ := b["fields"].([]any)
			if len(fields) > 10 {
				t.Errorf("%s: %s has %d fields, limit 10", where, at, len(fields))
			}
			for _, f := range fields {
				limit(at+" field", text(f), 2000)
			}
		case "context":
			els, _ := b["elements"].([]any)
			if len(els) > 10 {
				t.Errorf("%s: %s has %d elements", where, at, len(els))
			}
			for _, e := range els {
				limit(at+" element", text(e), 3000)
			}
		case "actions":
			els, _ := b["elements"].([]any)
			if len(els) > 25 {
				t.Errorf("%s: %s has %d elements", where, at, len(els))
			}
			for _, e := range els {
				m := e.(map[string]any)
				id, _ := m["action_id"].(string)
				if actionIDs[id] {
					t.Errorf("%s: action id %q is not unique", where, id)
				}
				actionIDs[id] = true
				limit(at+" action_id", id, 255)
				limit(at+" button text", text(m["text"]), 75)
				v, _ := m["value"].(string)
				limit(at+" button value", v, 2000)
				u, _ := m["url"].(string)
				limit(at+" button url", u, 3000)
				if c, ok := m["confirm"].(map[string]any); ok {
					limit(at+" confirm title", text(c["title"]), 100)
					limit(at+" confirm text", text(c["text"]), 300)
					limit(at+" confirm button", text(c["confirm"]), 30)
					limit(at+" deny button", text(c["deny"]), 30)
				}
			}
		case "input":
			limit(at+" label", text(b["label"]), 2000)
			el, _ := b["element"].(map[string]any)
			limit(at+" placeholder", text(el["placeholder"]), 150)
		}
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
		{"Created", []string{actionOpenCheckout, actionRefresh, actionCancel}, "Open: waiting for payment"},
		{"Authorized", []string{actionOpenCheckout, actionRefresh, actionCancel}, "Authorized"},
		{"Captured", nil, "Paid"},
		{"Canceled", []string{actionNewLink}, "Canceled"},
		{StatusExpired, []string{actionNewLink}, "Expired"},
		{"Refunded", nil, "Refunded"},
		{"Reversed", nil, "Reversed"},
	}
	for _, tt := range tests {
		t.Run(tt.status, func(t *testing.T) {
			text, blocks := renderCard(worstLink(tt.status), "https://pay.dojo.tech/checkout/")
			checkBlocks(t, tt.status, blocks, 50)
			raw, _ := json.Marshal(blocks)
			all := text + string(raw)
			if strings.Contains(all, "<<") || strings.Contains(all, "&&") {
				t.Errorf("unescaped user text in the card")
			}
			if !strings.Contains(string(raw), tt.shows) || !strings.Contains(text, "TEST MODE") {
				t.Errorf("card does not show %q", tt.shows)
			}
			for _, id := range []string{actionOpenCheckout, actionRefresh, actionCancel, actionNewLink} {
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

func TestNoticesAndOtherMessages(t *testing.T) {
	l := worstLink("Captured")
	for _, st := range []string{"Captured", "Canceled", "Refunded", "Reversed", StatusExpired} {
		n := noticeText(l, st)
		if strings.Contains(n, "<<") || strings.Contains(n, "&&") || utf8.RuneCountInString(n) > 3000 {
			t.Errorf("%s notice %q", st, n)
		}
	}
	if !strings.Contains(noticeText(l, "Captured"), "Paid: £9,999,999,999.99") {
		t.Errorf("Paid notice = %q", noticeText(l, "Captured"))
	}
	for _, desc := range []string{l.Description, strings.Repeat("\"\n", 500)} {
		cmd := Command{Amount: dojo.Money{Value: 1, CurrencyCode: "GBP"}, Reference: strings.Repeat("\"", 60), Description: desc, Expires: MaxExpiry}
		value := anywayButtonValue(cmd)
		checkBlocks(t, "duplicate answer", []slack.Block{
			slack.NewActionBlock("duplicate_actions", slack.NewButtonBlockElement(actionCreateAnyway, value, plain("Create another anyway"))),
		}, 50)
		var back anywayValue
		if err := json.Unmarshal([]byte(value), &back); err != nil || back.Reference != cmd.Reference || back.Amount != 1 {
			t.Errorf("button value %q does not decode back: %v", value, err)
		}
	}

	view := formView(formOrigin{Channel: "C2147483705", ChannelName: strings.Repeat("c", 80), ResponseURL: "https://hooks.slack.com/commands/T0001/" + strings.Repeat("9", 100)})
	checkBlocks(t, "form", view.Blocks.BlockSet, 100)
	for what, s := range map[string]string{"title": view.Title.Text, "submit": view.Submit.Text, "close": view.Close.Text} {
		if utf8.RuneCountInString(s) > 24 {
			t.Errorf("form %s %q is over 24 characters", what, s)
		}
	}
	if len(view.PrivateMetadata) > 3000 {
		t.Errorf("form private_metadata is %d bytes", len(view.PrivateMetadata))
	}
}

func BenchmarkRenderCard(b *testing.B) {
	l := &store.Link{IntentID: "pi_sandbox_G_FeegU8WESxtY_Nct8jqw", UserID: "U2147483697", Amount: 1000, Currency: "GBP",
		Reference: "ref-123", Status: "Created", CreatedAt: time.Unix(1_700_000_000, 0), ExpiresAt: time.Unix(1_702_592_000, 0), TestMode: true}
	b.ReportAllocs()
	for b.Loop() {
		renderCard(l, "https://pay.dojo.tech/checkout/")
	}
}

func BenchmarkRenderCardJSON(b *testing.B) {
	l := &store.Link{IntentID: "pi_sandbox_G_FeegU8WESxtY_Nct8jqw", UserID: "U2147483697", Amount: 1000, Currency: "GBP",
		Reference: "ref-123", Status: "Created", CreatedAt: time.Unix(1_700_000_000, 0), ExpiresAt: time.Unix(1_702_592_000, 0), TestMode: true}
	b.ReportAllocs()
	for b.Loop() {
		_, blocks := renderCard(l, "https://pay.dojo.tech/checkout/")
		if _, err := json.Marshal(blocks); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNoticeText(b *testing.B) {
	l := &store.Link{Amount: 1000, Currency: "GBP", Reference: "ref-123"}
	b.ReportAllocs()
	for b.Loop() {
		noticeText(l, "Captured")
	}
}
