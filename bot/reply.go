package bot

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/paylink/paylink/bot/flow"
	"github.com/paylink/paylink/bot/slackin"
	"github.com/paylink/paylink/bot/slackout"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/store"
)

// The answers every request may get.
const (
	msgWentWrong    = "Sorry, something went wrong and no link was created. Please try again."
	msgDatabaseDown = "Paylink could not reach its database. Please try again in a minute."
	msgBusy         = "Paylink is very busy right now, so nothing was done. Please try again in a moment."
	msgRestarting   = "Paylink is restarting, so nothing was done. Please try again in a few seconds."
	msgNoRecord     = "Paylink no longer has a record of this link."
	msgAskingDojo   = "Asking Dojo… the answer will follow here in a moment."
)

// creatingText tells the agent a link is on its way while Dojo takes its time.
func creatingText(o flow.Order) string {
	return fmt.Sprintf("Creating a %s payment link for %s… Dojo is taking a moment; the link will appear in this channel as soon as it is ready.",
		o.Amount, slackout.Escape(o.Reference))
}

// createAnswer is the answer to a request to create a link that made none (a Created
// result's answer is the card itself), with the "Create another anyway" button when a
// link for the reference is still open.
func createAnswer(r flow.Result, o flow.Order, checkoutURL string) (string, []slack.Block) {
	switch r.Outcome {
	case flow.RateLimited:
		return fmt.Sprintf("You have made %d payment links in the last %s, the most allowed, so no link was created. You can make another in %s.",
			r.RateLimit, slackout.HumanDuration(r.RateWindow), slackout.HumanDuration(r.RetryAfter.Round(time.Minute)+time.Minute)), nil
	case flow.BeingCreated:
		return fmt.Sprintf("A link for %s is being created right now by another command; it will appear in this channel in a moment. "+
			"Once it has, you can make a second one for the same reference if you need it.", slackout.Escape(o.Reference)), nil
	case flow.StillOpen:
		var lines []string
		for _, open := range r.Open {
			if open.Link != nil {
				lines = append(lines, slackout.ListLine(open.Link, checkoutURL))
			} else {
				lines = append(lines, "• `"+checkoutURL+open.IntentID+"`")
			}
		}
		text := fmt.Sprintf("A payment link for %s is still open, so no second one was created:\n%s\nSend the customer that link, or create another anyway.",
			slackout.Escape(o.Reference), strings.Join(lines, "\n"))
		return text, slackout.Duplicate(text, anywayValue(o).Encode())
	case flow.Repeat:
		return fmt.Sprintf("You asked for this %s link for %s a few minutes ago, so no second link was created. Here it is: %s",
			o.Amount, slackout.Escape(o.Reference), checkoutURL+r.IntentID), nil
	case flow.RepeatPending:
		return fmt.Sprintf("Your %s link for %s is already being created; it will appear in this channel shortly.",
			o.Amount, slackout.Escape(o.Reference)), nil
	case flow.DojoFailed:
		return dojoFailure(r.Err), nil
	case flow.StoreFailed:
		return "Paylink could not reach its database, so no link was created. Please try again in a minute.", nil
	case flow.RecordFailed:
		return "Paylink could not record the link, so it was not posted and has been cancelled at Dojo. Please try again in a minute.", nil
	}
	return msgWentWrong, nil
}

// dojoFailure tells the agent why Dojo made no link.
func dojoFailure(err error) string {
	var de *dojo.Error
	if errors.As(err, &de) {
		msg := "Dojo could not create the payment link, so nothing was posted.\n" + slackout.Escape(de.Message())
		if de.Timeout {
			msg += "\nIf you try again, check Dojo's dashboard first: a link may have been created without an answer reaching Paylink."
		}
		return msg
	}
	return "Dojo could not create the payment link, so nothing was posted. Please try again."
}

// unpostedText gives the agent the link privately when Slack would not take the card.
func unpostedText(slackError, checkoutURL, intentID string) string {
	return fmt.Sprintf("Paylink could not post the link in this channel (Slack said %q). Here it is, to send to the customer: %s",
		slackError, checkoutURL+intentID)
}

// listText answers /paylink list: the last links asked for in the channel, with status.
func listText(links []*store.Link, checkoutURL string) string {
	if len(links) == 0 {
		return "No payment links have been asked for in this channel yet. " + slackout.Usage
	}
	head := fmt.Sprintf("The last %d payment links asked for in this channel:", len(links))
	if len(links) == 1 {
		head = "The only payment link asked for in this channel so far:"
	}
	lines := []string{head}
	for _, rec := range links {
		lines = append(lines, slackout.ListLine(rec, checkoutURL))
	}
	return strings.Join(lines, "\n")
}

// notFoundText answers a status or cancel naming no link the user may see.
func notFoundText(target string) string {
	return fmt.Sprintf("No payment link with the reference or id %s was found in this workspace.", slackout.Escape(target))
}

// statusText says where a link stands.
func statusText(st flow.Status, checkoutURL string) string {
	if st.Stale {
		return "Dojo did not answer, so this is the last status Paylink knows:\n" + slackout.ListLine(st.Link, checkoutURL)
	}
	return slackout.ListLine(st.Link, checkoutURL)
}

// cancelText says how a cancel ended.
func cancelText(c flow.Cancellation, checkoutURL string) string {
	rec := c.Link
	amount := dojo.Money{Value: rec.Amount, CurrencyCode: rec.Currency}
	switch c.Outcome {
	case flow.CancelNotAllowed:
		return fmt.Sprintf("Only <@%s>, who asked for the %s link for %s, or an admin can cancel it.", rec.UserID, amount, slackout.Escape(rec.Reference))
	case flow.AlreadyClosed:
		return fmt.Sprintf("The %s link for %s is already closed (%s); nothing to cancel.", amount, slackout.Escape(rec.Reference), slackout.StatusLine(rec.Status))
	case flow.CancelRefused:
		return fmt.Sprintf("The %s link for %s can't be cancelled: %s\n%s",
			amount, slackout.Escape(rec.Reference), slackout.Escape(c.Reason), statusText(c.Status, checkoutURL))
	case flow.CancelFailed:
		return "Dojo could not cancel the link.\n" + dojoMessage(c.Err)
	}
	return fmt.Sprintf("Canceled the %s link for %s. The customer can no longer pay with it.", amount, slackout.Escape(rec.Reference))
}

// dojoMessage is what Dojo said, for the agent.
func dojoMessage(err error) string {
	var de *dojo.Error
	if errors.As(err, &de) {
		return slackout.Escape(de.Message())
	}
	return "Please try again."
}

// anywayValue is the "Create another anyway" button's value for o.
func anywayValue(o flow.Order) slackout.AnywayValue {
	return slackout.AnywayValue{Amount: o.Amount.Value, Currency: o.Amount.CurrencyCode,
		Reference: o.Reference, Expires: int64(o.Expires / time.Second), Description: o.Description}
}

// refusalText answers a request today's policy refused: an amount over the cap is a
// mistake in the command, shown with the usage; the allow-lists speak for themselves.
func refusalText(r *flow.Refusal) string {
	if r.OverLimit {
		return (&slackin.UsageError{Problem: r.Problem}).Message()
	}
	return r.Problem
}

// refusalMetric is the commands metric's label for a refusal by today's policy.
func refusalMetric(r *flow.Refusal) string {
	if r.OverLimit {
		return "over_limit"
	}
	return "not_allowed"
}
