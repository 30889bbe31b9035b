package bot

import (
	"strings"

	"github.com/slack-go/slack"

	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/store"
)

// mrkdwnEscaper escapes the three characters that Slack's mrkdwn gives meaning to.
// Everything a user typed passes through it before it is shown, so a reference like
// "<!channel>" notifies nobody and "<https://evil|bank>" links nowhere.
var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// escapeMrkdwn escapes s for Slack's mrkdwn (and for a message's text fallback).
func escapeMrkdwn(s string) string {
	if !strings.ContainsAny(s, "&<>") {
		return s
	}
	return mrkdwnEscaper.Replace(s)
}

// helpText answers "/paylink help" and "/paylink" alone.
const helpText = "*/paylink* creates a Dojo payment link and posts it in this channel for you to send to the customer. " +
	"When the customer pays, \"Paid\" is posted under the link.\n" +
	Usage + "\n" +
	"Examples:\n" +
	"• `/paylink 10.00 GBP ref-123`\n" +
	"• `/paylink €25 Order 236`\n" +
	"• `/paylink gbp 1,250.50 INV-2024-001`\n" +
	"The amount is in pounds or euros (up to 2 decimals); the reference (1–60 characters) is shown to the customer and in Dojo."

// linkCard is everything the link message shows.
type linkCard struct {
	Amount    dojo.Money
	Reference string // as the agent typed it; escaped when rendered
	UserID    string
	URL       string // the checkout link
	IntentID  string
	TestMode  bool
	Status    string // Dojo's status; "" or Created shows an open link
}

// testModeNote marks every message made with a sandbox key.
const testModeNote = ":warning: *TEST MODE*: made with a Dojo sandbox key; no real money moves."

// render returns the message's text fallback and its Block Kit blocks. Every field a
// user typed is escaped; user text is marked verbatim so Slack does not turn URLs or
// channel names in it into links.
func (c linkCard) render() (string, []slack.Block) {
	if store.Closed(c.Status) {
		return c.closedBlocks()
	}
	ref := escapeMrkdwn(c.Reference)
	amount := c.Amount.String()
	var text strings.Builder
	text.WriteString(amount)
	text.WriteString(" payment link for ")
	text.WriteString(ref)
	text.WriteString(": ")
	text.WriteString(c.URL)
	title := amount + " payment link"
	if c.TestMode {
		text.WriteString(" (TEST MODE)")
		title += " (TEST MODE)"
	}

	blocks := []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, title, false, false)),
		slack.NewSectionBlock(nil, []*slack.TextBlockObject{
			slack.NewTextBlockObject(slack.MarkdownType, "*Reference*\n"+ref, false, true),
			slack.NewTextBlockObject(slack.MarkdownType, "*Requested by*\n<@"+c.UserID+">", false, true),
			slack.NewTextBlockObject(slack.MarkdownType, "*Status*\n"+statusLine(c.Status), false, true),
		}, nil),
		slack.NewSectionBlock(
			slack.NewTextBlockObject(slack.MarkdownType, "Send this link to the customer:\n`"+c.URL+"`", false, true),
			nil, nil),
		slack.NewActionBlock("link_actions",
			slack.NewButtonBlockElement("open_checkout", c.IntentID,
				slack.NewTextBlockObject(slack.PlainTextType, "Open checkout", false, false)).
				WithURL(c.URL)),
	}
	if c.TestMode {
		blocks = append(blocks, slack.NewContextBlock("test_mode",
			slack.NewTextBlockObject(slack.MarkdownType, testModeNote, false, true)))
	}
	return text.String(), blocks
}
