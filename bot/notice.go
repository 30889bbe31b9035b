package bot

import (
	"fmt"

	"github.com/slack-go/slack"

	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/store"
)

// noticeText is the thread reply for a status change. A Captured notice starts with
// "Paid". Everything the agent typed is escaped.
func noticeText(l *store.Link, status string) string {
	amount := dojo.Money{Value: l.Amount, CurrencyCode: l.Currency}.String()
	ref := escapeMrkdwn(l.Reference)
	var text string
	switch dojo.Status(status) {
	case dojo.StatusCaptured:
		text = fmt.Sprintf(":white_check_mark: Paid: %s for %s", amount, ref)
	case dojo.StatusCanceled:
		text = fmt.Sprintf(":no_entry_sign: Canceled: the %s link for %s can no longer be paid", amount, ref)
	case dojo.StatusRefunded:
		text = fmt.Sprintf(":leftwards_arrow_with_hook: Refunded: the %s payment for %s", amount, ref)
	case dojo.StatusReversed:
		text = fmt.Sprintf(":leftwards_arrow_with_hook: Reversed: the %s payment for %s was reversed", amount, ref)
	default:
		text = fmt.Sprintf("%s: the %s link for %s", status, amount, ref)
	}
	if l.TestMode {
		text += " (TEST MODE)"
	}
	return text
}

// dmNoticeText is the notice sent to the agent who asked, when the channel can't be
// reached.
func dmNoticeText(l *store.Link, status string) string {
	return fmt.Sprintf("%s\n(Your payment link from <#%s>; Paylink can no longer post there.)", noticeText(l, status), l.ChannelID)
}

// statusLine is the link card's status field for a status.
func statusLine(status string) string {
	switch dojo.Status(status) {
	case dojo.StatusCaptured:
		return ":white_check_mark: Paid"
	case dojo.StatusCanceled:
		return ":no_entry_sign: Canceled"
	case dojo.StatusRefunded:
		return ":leftwards_arrow_with_hook: Refunded"
	case dojo.StatusReversed:
		return ":leftwards_arrow_with_hook: Reversed"
	case dojo.StatusAuthorized:
		return "Authorized: awaiting capture"
	}
	return "Open: waiting for payment"
}

// cardFor rebuilds the link card of a record, showing status.
func cardFor(l *store.Link, checkoutURL, status string) linkCard {
	return linkCard{
		Amount:    dojo.Money{Value: l.Amount, CurrencyCode: l.Currency},
		Reference: l.Reference,
		UserID:    l.UserID,
		URL:       checkoutURL + l.IntentID,
		IntentID:  l.IntentID,
		TestMode:  l.TestMode,
		Status:    status,
	}
}

// closedBlocks renders a card whose link can no longer be paid: no link, no button.
func (c linkCard) closedBlocks() (string, []slack.Block) {
	ref := escapeMrkdwn(c.Reference)
	amount := c.Amount.String()
	title := amount + " " + map[string]string{"Captured": "paid", "Canceled": "link canceled", "Refunded": "refunded", "Reversed": "reversed"}[c.Status]
	if c.TestMode {
		title += " (TEST MODE)"
	}
	text := fmt.Sprintf("%s: %s for %s", statusLine(c.Status), amount, ref)
	blocks := []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, title, false, false)),
		slack.NewSectionBlock(nil, []*slack.TextBlockObject{
			slack.NewTextBlockObject(slack.MarkdownType, "*Reference*\n"+ref, false, true),
			slack.NewTextBlockObject(slack.MarkdownType, "*Requested by*\n<@"+c.UserID+">", false, true),
			slack.NewTextBlockObject(slack.MarkdownType, "*Status*\n"+statusLine(c.Status), false, true),
		}, nil),
		slack.NewContextBlock("intent", slack.NewTextBlockObject(slack.MarkdownType, "Dojo payment intent `"+c.IntentID+"`", false, true)),
	}
	if c.TestMode {
		blocks = append(blocks, slack.NewContextBlock("test_mode", slack.NewTextBlockObject(slack.MarkdownType, testModeNote, false, true)))
	}
	return text, blocks
}
