package slackout

import (
	"fmt"
	"time"

	"github.com/slack-go/slack"

	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/store"
)

// Reminder is the thread reply under a card still unpaid after waited: it mentions
// the agent who asked for the link, and offers to cancel it.
func Reminder(l *store.Link, waited time.Duration, checkoutURL string) (string, []slack.Block) {
	amount := dojo.Money{Value: l.Amount, CurrencyCode: l.Currency}
	age := HumanDuration(waited)
	text := fmt.Sprintf("<@%s> The %s link for %s is still unpaid, %s after it was made. Send it to the customer again, or cancel it if it is no longer needed: %s",
		l.UserID, amount, Escape(clipRunes(l.Reference, 60)), age, checkoutURL+l.IntentID)
	blocks := []slack.Block{
		slack.NewSectionBlock(Mrkdwn(text), nil, nil),
		slack.NewActionBlock(blockLinkActions,
			slack.NewButtonBlockElement(ActionRefresh, l.IntentID, Plain("Refresh status")),
			cancelButton(l),
		),
	}
	if l.TestMode {
		blocks = append(blocks, slack.NewContextBlock("test_mode", Mrkdwn(testModeNote)))
	}
	return text, blocks
}
