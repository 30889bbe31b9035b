package slackout

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/paylink/paylink/store"
)

func goldenLink(status string) *store.Link {
	return &store.Link{
		IntentID: "pi_sandbox_golden", TeamID: "T1", ChannelID: "C1", UserID: "U1",
		Amount: 1000, Currency: "GBP", Reference: "ref-123 <!channel>",
		Status: status, CreatedAt: time.Unix(1_700_000_000, 0), ExpiresAt: time.Unix(1_702_592_000, 0),
		StatusAt: time.Unix(1_700_007_200, 0), TestMode: true,
	}
}

// TestRefundCardsGolden renders the card after refunds made in Slack and in Dojo's
// dashboard, and the thread reply of each refund.
func TestRefundCardsGolden(t *testing.T) {
	at := time.Unix(1_700_007_200, 0).UTC()
	partly := goldenLink("Refunded")
	partly.Refunds = store.Refunds{Refunded: 400, Entries: []store.Refund{
		{Key: "k1", Kind: store.KindRefund, Amount: 400, User: "U7", At: at, Done: true, DojoID: "rfnd_1", Reason: "mug arrived <b>broken</b> & chipped"}}}
	dashboard := goldenLink("Refunded")
	dashboard.Refunds = store.Refunds{AtDojo: 300}
	all := goldenLink("Refunded")
	all.Refunds = store.Refunds{Refunded: 1000, Entries: []store.Refund{
		{Key: "k1", Kind: store.KindRefund, Amount: 400, User: "U7", At: at, Done: true},
		{Key: "k2", Kind: store.KindRefund, Amount: 600, User: "U8", At: at.Add(time.Hour), Done: true}}}
	reversed := goldenLink("Reversed")
	reversed.Refunds = store.Refunds{Refunded: 1000, Entries: []store.Refund{
		{Key: "rv", Kind: store.KindReversal, Amount: 1000, User: "U7", At: at, Done: true}}}
	for name, l := range map[string]*store.Link{"part": partly, "dashboard": dashboard, "all": all, "reversed": reversed} {
		t.Run(name, func(t *testing.T) {
			text, blocks := Card(l, "https://pay.dojo.tech/checkout/")
			out := map[string]any{"text": text, "blocks": blocks, "notice": Notice(l, l.Status)}
			if len(l.Refunds.Entries) > 0 {
				out["reply"] = RefundNotice(l, l.Refunds.Entries[len(l.Refunds.Entries)-1])
			}
			goldenJSON(t, "card-refunds-"+name+".json", out)
			checkBlocks(t, name, blocks, 50)
		})
	}
}

func TestRefundFormGolden(t *testing.T) {
	l := goldenLink("Captured")
	meta := RefundMeta{Intent: l.IntentID, Channel: "C1", TS: "1.2", ResponseURL: "https://hooks.slack.com/actions/T1/1/x"}
	goldenJSON(t, "refund-form-reversible.json", RefundForm(l, 1000, 0, true, meta))
	l.Status = "Refunded"
	l.Refunds = store.Refunds{Refunded: 400}
	goldenJSON(t, "refund-form.json", RefundForm(l, 600, 250, false, meta))
}

// TestRefundsAtTheirLargest: the card with many refunds, each with the longest
// reason full of characters that grow when escaped, and the form for the largest
// amount, keep within Slack's limits and escape what was typed.
func TestRefundsAtTheirLargest(t *testing.T) {
	l := worstLink("Refunded")
	for i := range 40 {
		l.Refunds.Entries = append(l.Refunds.Entries, store.Refund{Key: string(rune('a' + i)), Kind: store.KindRefund, Amount: 1,
			User: "U2147483697", At: time.Unix(1_700_000_000+int64(i), 0), Done: true, Reason: strings.Repeat("<", RefundReasonMax)})
		l.Refunds.Refunded++
	}
	l.Refunds.AtDojo, l.Refunds.Held = l.Amount/2, 7
	text, blocks := Card(l, "https://pay.dojo.tech/checkout/")
	checkBlocks(t, "card", blocks, 50)
	raw, _ := json.Marshal(blocks)
	if strings.Contains(string(raw)+text, "<<") || !strings.Contains(string(raw), ActionRefund) {
		t.Errorf("card: unescaped text, or no Refund button")
	}
	reply := RefundNotice(l, l.Refunds.Entries[0])
	if strings.Contains(reply, "<<") || utf8.RuneCountInString(reply) > 4000 {
		t.Errorf("reply %q", reply)
	}
	form := RefundForm(l, l.Amount, 0, true, RefundMeta{Intent: l.IntentID, Channel: "C2147483705", TS: "1700000000.123456",
		ResponseURL: "https://hooks.slack.com/actions/T0001/" + strings.Repeat("9", 40) + "/" + strings.Repeat("x", 40)})
	checkBlocks(t, "form", form.Blocks.BlockSet, 100)
	if n := len(form.PrivateMetadata); n > 3000 {
		t.Errorf("private_metadata is %d characters, limit 3000", n)
	}
	if n := utf8.RuneCountInString(form.Title.Text); n > 24 {
		t.Errorf("title is %d characters, limit 24", n)
	}
	fraw, _ := json.Marshal(form)
	if strings.Contains(string(fraw), "<<") {
		t.Error("form: unescaped text")
	}
	var _ slack.ModalViewRequest = form
}
