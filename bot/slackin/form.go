package slackin

import (
	"encoding/json"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/paylink/paylink/bot/flow"
	"github.com/paylink/paylink/bot/policy"
	"github.com/paylink/paylink/bot/slackout"
	"github.com/paylink/paylink/dojo"
)

// ParseForm reads a submitted form into an order, through the same rules as typed
// commands and the amount limit. Problems are returned per block id, to be shown on
// the fields.
func ParseForm(state *slack.ViewState, limits policy.MaxAmounts) (flow.Order, map[string]string) {
	value := func(id string) string { return formValue(state, id) }
	problems := map[string]string{}
	var cmd flow.Order

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
		return flow.Order{}, problems
	}
	return cmd, nil
}

// AnywayOrder decodes the value of a "Create another anyway" button: the order to make
// again, checked as a typed one would be. ok is false for a value paylink did not make.
func AnywayOrder(value string) (flow.Order, bool) {
	var v slackout.AnywayValue
	if err := json.Unmarshal([]byte(value), &v); err != nil {
		return flow.Order{}, false
	}
	cur, ok := dojo.LookupCurrency(v.Currency)
	ref, err := checkReference(v.Reference)
	if !ok || err != nil || v.Amount <= 0 {
		return flow.Order{}, false
	}
	o := flow.Order{Amount: dojo.Money{Value: v.Amount, CurrencyCode: cur.Code}, Reference: ref, Description: v.Description}
	if d := time.Duration(v.Expires) * time.Second; d >= flow.MinExpiry && d <= flow.MaxExpiry {
		o.Expires = d
	}
	return o, true
}

// formValue is what a submitted form holds in its input id (block and action share
// the id): the option chosen, or the text typed.
func formValue(state *slack.ViewState, id string) string {
	if state == nil {
		return ""
	}
	a := state.Values[id][id]
	if a.SelectedOption.Value != "" {
		return a.SelectedOption.Value
	}
	return a.Value
}
