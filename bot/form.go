package bot

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/paylink/paylink/bot/policy"
	"github.com/paylink/paylink/bot/slackout"
	"github.com/paylink/paylink/dojo"
)

// openForm opens the form for a command, within the trigger id's 3 seconds.
func (l *linker) openForm(ctx context.Context, sc slack.SlashCommand) error {
	if sc.TriggerID == "" {
		return errors.New("no trigger id")
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := l.slack.OpenViewContext(ctx, sc.TriggerID, slackout.Form(slackout.FormOrigin{Channel: sc.ChannelID, ChannelName: sc.ChannelName, ResponseURL: sc.ResponseURL}, MaxReferenceLen))
	l.m.SlackError("views.open", err)
	return err
}

// parseForm reads a submitted form into a command, through the same rules as typed
// commands and the amount limit. Problems are returned per block id, to be shown on
// the fields.
func parseForm(state *slack.ViewState, limits policy.MaxAmounts) (Command, map[string]string) {
	value := func(id string) string {
		if state == nil {
			return ""
		}
		a := state.Values[id][id]
		if a.SelectedOption.Value != "" {
			return a.SelectedOption.Value
		}
		return a.Value
	}
	problems := map[string]string{}
	cmd := Command{Kind: CommandCreate}

	cur, ok := dojo.LookupCurrency(value(slackout.FormCurrency))
	if !ok {
		problems[slackout.FormCurrency] = "Choose " + strings.Join(dojo.CurrencyCodes(), " or ") + "."
	}
	amountText := strings.TrimSpace(value(slackout.FormAmount))
	amountText = strings.TrimSpace(strings.TrimLeft(strings.TrimRight(amountText, "£€ "), "£€ "))
	// With no currency chosen the amount is still checked, by the rules every currency
	// offered shares (two decimals), so both mistakes show at once.
	check := cur
	if !ok {
		check, _ = dojo.LookupCurrency(dojo.CurrencyCodes()[0])
	}
	{
		v, err := dojo.ParseAmount(amountText, check)
		var ae *dojo.AmountError
		switch {
		case errors.As(err, &ae):
			problems[slackout.FormAmount] = "Not a valid amount: " + ae.Reason + "."
		case err != nil:
			problems[slackout.FormAmount] = "Not a valid amount."
		case !ok:
		default:
			cmd.Amount = dojo.Money{Value: v, CurrencyCode: cur.Code}
			if err := limits.Check(cmd.Amount); err != nil {
				var over *policy.OverLimit
				if errors.As(err, &over) {
					problems[slackout.FormAmount] = over.Problem
				}
			}
		}
	}
	// Form input is not escaped by Slack: take it as typed.
	ref, err := checkReference(value(slackout.FormReference))
	switch {
	case err != nil && ref == "" && strings.TrimSpace(value(slackout.FormReference)) == "":
		problems[slackout.FormReference] = "Enter a reference, such as an order number: the customer sees it on the checkout page."
	case err != nil:
		problems[slackout.FormReference] = err.(*UsageError).Problem
	}
	cmd.Reference = ref
	desc := strings.TrimSpace(value(slackout.FormDescription))
	switch {
	case utf8.RuneCountInString(desc) > slackout.FormDescriptionMax:
		problems[slackout.FormDescription] = "At most 500 characters."
	case strings.ContainsFunc(desc, func(r rune) bool { return r != '\n' && hiddenRune(r) }):
		problems[slackout.FormDescription] = "Contains an invisible or control character; type it again as plain text."
	}
	cmd.Description = desc
	if e := value(slackout.FormExpiry); e != "" {
		d, err := parseExpiry(e)
		if err != nil {
			problems[slackout.FormExpiry] = "Choose one of the options."
		}
		cmd.Expires = d
	}
	if len(problems) > 0 {
		return Command{}, problems
	}
	return cmd, nil
}
