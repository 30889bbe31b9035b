// Package slackout is what paylink sends to Slack: the link card and the notices,
// rendered from a link's state by pure functions, and the calls that post them.
package slackout

import (
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/store"
)

// Action ids of the card's buttons and the duplicate guard's button.
const (
	ActionOpenCheckout = "open_checkout"
	ActionRefresh      = "refresh_status"
	ActionCancel       = "cancel_link"
	ActionNewLink      = "new_link"
	ActionCreateAnyway = "create_anyway"
	ActionRefund       = "refund_payment"
	blockLinkActions   = "link_actions"
)

const (
	testModeNote        = ":warning: *TEST MODE*: made with a Dojo sandbox key; no real money moves."
	descriptionShownMax = 300
)

// slackDate formats t for Slack, shown in each reader's own time zone, with a UTC
// fallback.
func slackDate(t time.Time) string {
	return fmt.Sprintf("<!date^%d^{date_short_pretty} at {time}|%s>", t.Unix(), t.UTC().Format("2 Jan 2006 15:04 UTC"))
}

// StatusLine is the card's status field.
func StatusLine(status string) string {
	switch status {
	case string(dojo.StatusCaptured):
		return ":white_check_mark: Paid"
	case string(dojo.StatusCanceled):
		return ":no_entry_sign: Canceled"
	case string(dojo.StatusRefunded):
		return ":leftwards_arrow_with_hook: Refunded"
	case string(dojo.StatusReversed):
		return ":leftwards_arrow_with_hook: Reversed"
	case store.StatusExpired:
		return ":hourglass: Expired"
	case string(dojo.StatusAuthorized):
		return "Authorized: awaiting capture"
	}
	return "Open: waiting for payment"
}

// headline is the card's header for a status.
func headline(amount, status string) string {
	switch status {
	case string(dojo.StatusCaptured):
		return amount + " paid"
	case string(dojo.StatusCanceled):
		return amount + " link canceled"
	case string(dojo.StatusRefunded):
		return amount + " refunded"
	case string(dojo.StatusReversed):
		return amount + " reversed"
	case store.StatusExpired:
		return amount + " link expired"
	}
	return amount + " payment link"
}

// Card returns the link message for a record in its current state: its text
// fallback and its blocks. Everything the agent typed is escaped. Buttons that no
// longer apply are left out: an open link has Open checkout, Refresh status and
// Cancel link; a canceled or expired one offers New link; a paid one offers Refund
// while something is left to refund.
func Card(l *store.Link, checkoutURL string) (string, []slack.Block) {
	amount := dojo.Money{Value: l.Amount, CurrencyCode: l.Currency}.String()
	ref := Escape(l.Reference)
	url := checkoutURL + l.IntentID
	closed := store.Closed(l.Status)

	title := refundHeadline(l, headline(amount, l.Status))
	if l.TestMode {
		title += " (TEST MODE)"
	}
	var text string
	if closed {
		text = fmt.Sprintf("%s: %s for %s", StatusLine(l.Status), amount, ref)
	} else {
		text = fmt.Sprintf("%s payment link for %s: %s", amount, ref, url)
	}
	if l.TestMode {
		text += " (TEST MODE)"
	}

	status := "*Status*\n" + StatusLine(l.Status)
	if closed && !l.StatusAt.IsZero() {
		status += " " + slackDate(l.StatusAt)
	}
	fields := []*slack.TextBlockObject{
		Mrkdwn("*Reference*\n" + ref),
		Mrkdwn("*Requested by*\n<@" + l.UserID + ">"),
		Mrkdwn(status),
		Mrkdwn("*Created*\n" + slackDate(l.CreatedAt)),
	}
	if !closed && !l.ExpiresAt.IsZero() && l.ExpiresAt.Unix() > 0 {
		fields = append(fields, Mrkdwn("*Expires*\n"+slackDate(l.ExpiresAt)))
	}
	blocks := []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, title, false, false)),
		slack.NewSectionBlock(nil, fields, nil),
	}
	if l.Description != "" {
		blocks = append(blocks, slack.NewContextBlock("description", Mrkdwn(Escape(clipRunes(l.Description, descriptionShownMax)))))
	}
	blocks = append(blocks, refundBlocks(l)...)
	switch {
	case !closed:
		blocks = append(blocks,
			slack.NewSectionBlock(Mrkdwn("Send this link to the customer:\n`"+url+"`"), nil, nil),
			slack.NewActionBlock(blockLinkActions,
				slack.NewButtonBlockElement(ActionOpenCheckout, l.IntentID, Plain("Open checkout")).WithURL(url),
				slack.NewButtonBlockElement(ActionRefresh, l.IntentID, Plain("Refresh status")),
				cancelButton(l),
			))
	case refundable(l):
		blocks = append(blocks, slack.NewActionBlock(blockLinkActions,
			slack.NewButtonBlockElement(ActionRefund, l.IntentID, Plain("Refund"))))
	case l.Status == string(dojo.StatusCanceled) || l.Status == store.StatusExpired:
		blocks = append(blocks, slack.NewActionBlock(blockLinkActions,
			slack.NewButtonBlockElement(ActionNewLink, l.IntentID, Plain("New link")).WithStyle(slack.StylePrimary)))
	}
	blocks = append(blocks, slack.NewContextBlock("intent", Mrkdwn("Dojo payment intent `"+l.IntentID+"`")))
	if l.TestMode {
		blocks = append(blocks, slack.NewContextBlock("test_mode", Mrkdwn(testModeNote)))
	}
	return text, blocks
}

// Mrkdwn is a mrkdwn text object.
func Mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, true)
}

// Plain is a plain-text object.
func Plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

// clipRunes shortens s to n characters, marking the cut.
func clipRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// Notice is the thread reply for a status change. A Captured notice contains
// "Paid". Everything the agent typed is escaped.
func Notice(l *store.Link, status string) string {
	amount := dojo.Money{Value: l.Amount, CurrencyCode: l.Currency}.String()
	ref := Escape(l.Reference)
	var text string
	switch status {
	case string(dojo.StatusCaptured):
		text = fmt.Sprintf(":white_check_mark: Paid: %s for %s", amount, ref)
	case string(dojo.StatusCanceled):
		text = fmt.Sprintf(":no_entry_sign: Canceled: the %s link for %s can no longer be paid", amount, ref)
	case string(dojo.StatusRefunded):
		text = fmt.Sprintf(":leftwards_arrow_with_hook: Refunded: the %s payment for %s", amount, ref)
		if t := l.Refunds.Total(); t > 0 && t < l.Amount {
			text = fmt.Sprintf(":leftwards_arrow_with_hook: Refunded: %s of the %s payment for %s", money(l, t), amount, ref)
		}
	case string(dojo.StatusReversed):
		text = fmt.Sprintf(":leftwards_arrow_with_hook: Reversed: the %s payment for %s was reversed", amount, ref)
	case store.StatusExpired:
		text = fmt.Sprintf(":hourglass: Expired: the %s link for %s was not paid in time", amount, ref)
	default:
		text = fmt.Sprintf("%s: the %s link for %s", status, amount, ref)
	}
	if l.TestMode {
		text += " (TEST MODE)"
	}
	return text
}

// DMNotice is the notice sent to the agent who asked, when the channel can't be
// reached.
func DMNotice(l *store.Link, status string) string {
	return fmt.Sprintf("%s\n(Your payment link from <#%s>; Paylink can no longer post there.)", Notice(l, status), l.ChannelID)
}

// ListLine is one link in /paylink list and status answers.
func ListLine(l *store.Link, checkoutURL string) string {
	amount := dojo.Money{Value: l.Amount, CurrencyCode: l.Currency}.String()
	var b strings.Builder
	fmt.Fprintf(&b, "• *%s* for %s: %s", amount, Escape(l.Reference), StatusLine(l.Status))
	if store.Closed(l.Status) && !l.StatusAt.IsZero() {
		b.WriteString(" " + slackDate(l.StatusAt))
	}
	fmt.Fprintf(&b, ", asked by <@%s> %s", l.UserID, slackDate(l.CreatedAt))
	if !store.Closed(l.Status) {
		fmt.Fprintf(&b, "\n   `%s%s`", checkoutURL, l.IntentID)
	}
	return b.String()
}

// cancelButton is a link's Cancel link button, with its confirmation: on the card, the
// Home tab and the reminder alike.
func cancelButton(l *store.Link) *slack.ButtonBlockElement {
	amount := dojo.Money{Value: l.Amount, CurrencyCode: l.Currency}
	return slack.NewButtonBlockElement(ActionCancel, l.IntentID, Plain("Cancel link")).
		WithStyle(slack.StyleDanger).
		WithConfirm(slack.NewConfirmationBlockObject(
			Plain("Cancel this link?"),
			Mrkdwn(fmt.Sprintf("The %s link for %s will stop working at once. This can't be undone.", amount, Escape(clipRunes(l.Reference, 40)))),
			Plain("Cancel link"),
			Plain("Keep it"),
		).WithStyle(slack.StyleDanger))
}
