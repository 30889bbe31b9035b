package slackin

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/paylink/paylink/bot/slackout"
	"github.com/paylink/paylink/dojo"
)

// RefundArgs is what "/paylink refund <reference or intent id> [amount]" names
// besides its target.
type RefundArgs struct {
	// Amount is the amount as typed (a sign allowed, "4.00", "£4"), when the last word
	// looks like one; it is checked against the link's currency once it is found.
	Amount string
	// Whole is the target with that last word kept: a reference may end in a number
	// ("Order 236"), so when Target finds no link, Whole is tried with no amount.
	Whole string
}

// refundUsage says how to write a refund.
const refundUsage = "`/paylink refund <reference or intent id> [amount]`, like `/paylink refund ref-123 4.00`"

// parseRefund reads the rest of "/paylink refund": a target, and an amount if its
// last word looks like one.
func parseRefund(rest string) (Command, bool, error) {
	text := strings.TrimSpace(slackUnescaper.Replace(rest))
	if text == "" {
		return Command{}, true, &UsageError{Problem: "Say which payment to refund: " + refundUsage + ".", Subcommand: true}
	}
	if n := len(utf16.Encode([]rune(text))); n > 100+21 {
		return Command{}, true, &UsageError{Problem: fmt.Sprintf("%q is not a reference or an intent id.", clip(text)), Subcommand: true}
	}
	cmd := Command{Kind: CommandRefund, Target: text, Refund: RefundArgs{Whole: text}}
	if i := strings.LastIndexAny(text, " \t"); i > 0 && looksLikeAmount(text[i+1:]) {
		cmd.Target, cmd.Refund.Amount = strings.TrimSpace(text[:i]), text[i+1:]
	}
	if n := len(utf16.Encode([]rune(cmd.Target))); n > 100 {
		return Command{}, true, &UsageError{Problem: fmt.Sprintf("%q is not a reference or an intent id.", clip(cmd.Target)), Subcommand: true}
	}
	return cmd, true, nil
}

// RefundAmount checks an amount typed for a refund of a payment in cur of which left
// is left to refund, and returns it in minor units, or the problem to show.
func RefundAmount(text string, cur dojo.Currency, left int64) (int64, string) {
	text = strings.TrimSpace(text)
	if t, ok := strings.CutPrefix(text, cur.Symbol); ok && cur.Symbol != "" {
		text = t
	} else if t, ok := strings.CutSuffix(text, cur.Symbol); ok && cur.Symbol != "" {
		text = t
	}
	if strings.ContainsAny(text, "£€") {
		return 0, "Not a valid amount: the payment was in " + cur.Code + "."
	}
	v, err := dojo.ParseAmount(strings.TrimSpace(text), cur)
	var ae *dojo.AmountError
	switch {
	case errors.As(err, &ae):
		return 0, "Not a valid amount: " + ae.Reason + "."
	case err != nil:
		return 0, "Not a valid amount."
	case v > left:
		return 0, fmt.Sprintf("At most %s is left to refund.", dojo.Money{Value: left, CurrencyCode: cur.Code})
	}
	return v, ""
}

// RefundOrder is what a submitted refund form asks for.
type RefundOrder struct {
	Amount  int64 // minor units; the whole amount for a reversal
	Reason  string
	Reverse bool
}

// ParseRefundForm reads a submitted refund form for a payment of whole in cur, of
// which left is left to refund. Problems are returned per block id, to be shown on the
// fields.
func ParseRefundForm(state *slack.ViewState, cur dojo.Currency, whole, left int64) (RefundOrder, map[string]string) {
	value := func(id string) string { return formValue(state, id) }
	problems := map[string]string{}
	var o RefundOrder
	switch value(slackout.RefundHow) {
	case slackout.HowReverse:
		o.Reverse, o.Amount = true, whole
		if left != whole {
			problems[slackout.RefundHow] = "A reversal gives back the whole payment, and part of it is refunded already: refund the rest instead."
		}
	case "", slackout.HowRefund:
		var problem string
		if o.Amount, problem = RefundAmount(value(slackout.RefundAmount), cur, left); problem != "" {
			problems[slackout.RefundAmount] = problem
		}
	default:
		problems[slackout.RefundHow] = "Choose one of the options."
	}
	o.Reason = strings.TrimSpace(value(slackout.RefundReason))
	switch {
	case utf8.RuneCountInString(o.Reason) > slackout.RefundReasonMax:
		problems[slackout.RefundReason] = fmt.Sprintf("At most %d characters.", slackout.RefundReasonMax)
	case strings.ContainsFunc(o.Reason, hiddenRune):
		problems[slackout.RefundReason] = "Contains an invisible or control character; type it again as plain text."
	}
	if len(problems) > 0 {
		return RefundOrder{}, problems
	}
	return o, nil
}
