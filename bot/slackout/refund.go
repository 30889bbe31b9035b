package slackout

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/store"
)

// The refund form's callback id and block ids. Each input's action id is its block id.
const (
	RefundCallbackID = "paylink_refund"
	RefundAmount     = "refund_amount"
	RefundReason     = "refund_reason"
	RefundHow        = "refund_how"
	// The choices of RefundHow.
	HowRefund  = "refund"
	HowReverse = "reverse"
	// RefundReasonMax is the most characters the reason takes (Dojo's refundReason).
	RefundReasonMax = 1024
)

// refundsShown is how many refunds the card lists, newest last; the total covers all.
const refundsShown = 5

// money formats minor units in l's currency.
func money(l *store.Link, v int64) string {
	return dojo.Money{Value: v, CurrencyCode: l.Currency}.String()
}

// refundable reports whether the card offers Refund: paid, and something left.
func refundable(l *store.Link) bool {
	return (l.Status == string(dojo.StatusCaptured) || l.Status == string(dojo.StatusRefunded)) && l.RefundLeft() > 0
}

// refundHeadline is the header of a partly refunded card; others keep theirs.
func refundHeadline(l *store.Link, title string) string {
	if t := l.Refunds.Total(); l.Status == string(dojo.StatusRefunded) && t > 0 && t < l.Amount {
		return fmt.Sprintf("%s paid, %s refunded", money(l, l.Amount), money(l, t))
	}
	return title
}

// refundBlocks show what was refunded of a link: "Refunded £4.00 of £10.00", and
// each refund made from Slack (who, when, why; the last few), or that Dojo reports
// a refund paylink did not make.
func refundBlocks(l *store.Link) []slack.Block {
	r := l.Refunds
	total := r.Total()
	if total == 0 && r.Held == 0 {
		return nil
	}
	var b strings.Builder
	verb := "Refunded"
	if l.Status == string(dojo.StatusReversed) {
		verb = "Reversed"
	}
	fmt.Fprintf(&b, "*%s %s of %s*", verb, money(l, total), money(l, l.Amount))
	if left := l.RefundLeft(); left > 0 && l.Status != string(dojo.StatusReversed) {
		fmt.Fprintf(&b, " (%s left to refund)", money(l, left))
	}
	var done []store.Refund
	for _, e := range r.Entries {
		if e.Done {
			done = append(done, e)
		}
	}
	if len(done) > refundsShown {
		fmt.Fprintf(&b, "\n… and %d earlier", len(done)-refundsShown)
		done = done[len(done)-refundsShown:]
	}
	for _, e := range done {
		what := "refunded"
		if e.Kind == store.KindReversal {
			what = "reversed"
		}
		fmt.Fprintf(&b, "\n• %s %s by <@%s> %s", money(l, e.Amount), what, e.User, slackDate(e.At))
		if e.Reason != "" {
			fmt.Fprintf(&b, ": %s", Escape(clipRunes(e.Reason, 80)))
		}
	}
	if r.AtDojo > r.Refunded {
		fmt.Fprintf(&b, "\n• %s refunded in Dojo", money(l, r.AtDojo-r.Refunded))
	}
	if r.Held > 0 {
		fmt.Fprintf(&b, "\n• %s being refunded", money(l, r.Held))
	}
	return []slack.Block{slack.NewSectionBlock(Mrkdwn(b.String()), nil, nil)}
}

// RefundNotice is the thread reply for a refund made from Slack. Everything typed is
// escaped.
func RefundNotice(l *store.Link, r store.Refund) string {
	ref := Escape(l.Reference)
	var text string
	if r.Kind == store.KindReversal {
		text = fmt.Sprintf(":leftwards_arrow_with_hook: Reversed: the %s payment for %s, by <@%s>", money(l, l.Amount), ref, r.User)
	} else {
		text = fmt.Sprintf(":leftwards_arrow_with_hook: Refunded %s of %s for %s, by <@%s>", money(l, r.Amount), money(l, l.Amount), ref, r.User)
	}
	if r.Reason != "" {
		text += ": " + Escape(clipRunes(r.Reason, 500))
	}
	if left := l.RefundLeft(); left > 0 && r.Kind != store.KindReversal {
		text += fmt.Sprintf(" (%s left to refund)", money(l, left))
	}
	if l.TestMode {
		text += " (TEST MODE)"
	}
	return text
}

// RefundMeta is the refund form's private_metadata: the link, the card to update, and
// the response_url that reaches the person refunding.
type RefundMeta struct {
	Intent      string `json:"i"`
	Channel     string `json:"c,omitempty"`
	TS          string `json:"t,omitempty"`
	ResponseURL string `json:"r,omitempty"`
}

// RefundForm is the modal that asks how much to refund of l: at most left, which it
// starts with (or amount, when the command named one). When reversible, it offers a
// reversal of the whole payment instead.
func RefundForm(l *store.Link, left, amount int64, reversible bool, meta RefundMeta) slack.ModalViewRequest {
	raw, _ := json.Marshal(meta)
	if amount <= 0 || amount > left {
		amount = left
	}
	cur, _ := dojo.LookupCurrency(l.Currency)
	initial := strings.TrimPrefix(money(l, amount), cur.Symbol)
	intro := fmt.Sprintf("Refund the %s payment for %s.\n*%s* left to refund", money(l, l.Amount), Escape(clipRunes(l.Reference, 60)), money(l, left))
	if t := l.Refunds.Total(); t > 0 {
		intro += fmt.Sprintf(" (%s refunded already)", money(l, t))
	}
	intro += ". The money goes back to the customer's card; it can't be undone."
	blocks := []slack.Block{slack.NewSectionBlock(Mrkdwn(intro), nil, nil)}
	if reversible {
		refund := slack.NewOptionBlockObject(HowRefund, Plain("Refund the amount below"), nil)
		reverse := slack.NewOptionBlockObject(HowReverse, Plain("Reverse the whole payment"),
			Plain("Paid today: Dojo can reverse it instead, in full only"))
		radio := slack.NewRadioButtonsBlockElement(RefundHow, refund, reverse)
		radio.InitialOption = refund
		blocks = append(blocks,
			slack.NewInputBlock(RefundHow, Plain("How"), nil, radio),
			slack.NewContextBlock("reversal_note", Mrkdwn("Paid today, so Dojo can *reverse* the payment instead: the whole "+
				money(l, l.Amount)+", and only on the day it was paid (UK time). Otherwise it is a refund.")))
	}
	amountEl := slack.NewPlainTextInputBlockElement(Plain(initial), RefundAmount)
	amountEl.InitialValue, amountEl.MaxLength = initial, 20
	reasonEl := slack.NewPlainTextInputBlockElement(Plain("Sent to Dojo with the refund"), RefundReason)
	reasonEl.MaxLength = RefundReasonMax
	reason := slack.NewInputBlock(RefundReason, Plain("Reason (optional)"), nil, reasonEl)
	reason.Optional = true
	blocks = append(blocks,
		slack.NewInputBlock(RefundAmount, Plain("Amount ("+l.Currency+")"), Plain("At most "+money(l, left)), amountEl),
		reason)
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      RefundCallbackID,
		Title:           Plain("Refund payment"),
		Submit:          Plain("Refund"),
		Close:           Plain("Cancel"),
		PrivateMetadata: string(raw),
		Blocks:          slack.Blocks{BlockSet: blocks},
	}
}
