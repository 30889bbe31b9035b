package bot

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/paylink/paylink/bot/policy"
	"github.com/paylink/paylink/bot/slackout"
	"github.com/paylink/paylink/dojo"
)

// The form's callback id and block ids. Each input's action id is its block id.
const (
	formCallbackID   = "paylink_create"
	formAmount       = "amount"
	formCurrency     = "currency"
	formReference    = "reference"
	formDescription  = "description"
	formExpiry       = "expiry"
	maxDescriptionIn = 500
)

// formOrigin is the form's private_metadata: where the command that opened it came
// from, so the link is posted there.
type formOrigin struct {
	Channel     string `json:"c"`
	ChannelName string `json:"n,omitempty"`
	ResponseURL string `json:"r,omitempty"`
}

// expiryChoices are the form's expiry options (value: a --expires duration).
var expiryChoices = []struct{ value, label string }{
	{"1h", "1 hour"}, {"24h", "24 hours"}, {"7d", "7 days"}, {"30d", "30 days"},
}

// formView is the modal "/paylink" alone opens.
func formView(origin formOrigin) slack.ModalViewRequest {
	meta, _ := json.Marshal(origin)
	input := func(id, label, placeholder string, max int, multiline bool) *slack.InputBlock {
		el := slack.NewPlainTextInputBlockElement(slackout.Plain(placeholder), id)
		el.MaxLength, el.Multiline = max, multiline
		return slack.NewInputBlock(id, slackout.Plain(label), nil, el)
	}
	var currencies []*slack.OptionBlockObject
	for _, code := range dojo.CurrencyCodes() {
		currencies = append(currencies, slack.NewOptionBlockObject(code, slackout.Plain(code), nil))
	}
	currency := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, slackout.Plain("Currency"), formCurrency, currencies...)
	for _, o := range currencies {
		if o.Value == "GBP" {
			currency.InitialOption = o
		}
	}
	var expiries []*slack.OptionBlockObject
	for _, e := range expiryChoices {
		expiries = append(expiries, slack.NewOptionBlockObject(e.value, slackout.Plain(e.label), nil))
	}
	description := input(formDescription, "Description (optional)", "Shown to the customer on the checkout page", maxDescriptionIn, true)
	description.Optional = true
	expiry := slack.NewInputBlock(formExpiry, slackout.Plain("Expires after (optional; 30 days if not set)"), nil,
		slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, slackout.Plain("30 days"), formExpiry, expiries...))
	expiry.Optional = true
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      formCallbackID,
		Title:           slackout.Plain("New payment link"),
		Submit:          slackout.Plain("Create link"),
		Close:           slackout.Plain("Cancel"),
		PrivateMetadata: string(meta),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			input(formAmount, "Amount", "10.00", 20, false),
			slack.NewInputBlock(formCurrency, slackout.Plain("Currency"), nil, currency),
			input(formReference, "Reference", "Order number or invoice, shown to the customer", MaxReferenceLen, false),
			description,
			expiry,
		}},
	}
}

// openForm opens the form for a command, within the trigger id's 3 seconds.
func (l *linker) openForm(ctx context.Context, sc slack.SlashCommand) error {
	if sc.TriggerID == "" {
		return errors.New("no trigger id")
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := l.slack.OpenViewContext(ctx, sc.TriggerID, formView(formOrigin{Channel: sc.ChannelID, ChannelName: sc.ChannelName, ResponseURL: sc.ResponseURL}))
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

	cur, ok := dojo.LookupCurrency(value(formCurrency))
	if !ok {
		problems[formCurrency] = "Choose " + strings.Join(dojo.CurrencyCodes(), " or ") + "."
	}
	amountText := strings.TrimSpace(value(formAmount))
	amountText = strings.TrimSpace(strings.TrimLeft(strings.TrimRight(amountText, "£€ "), "£€ "))
	if ok {
		v, err := dojo.ParseAmount(amountText, cur)
		var ae *dojo.AmountError
		switch {
		case errors.As(err, &ae):
			problems[formAmount] = "Not a valid amount: " + ae.Reason + "."
		case err != nil:
			problems[formAmount] = "Not a valid amount."
		default:
			cmd.Amount = dojo.Money{Value: v, CurrencyCode: cur.Code}
			if err := limits.Check(cmd.Amount); err != nil {
				var over *policy.OverLimit
				if errors.As(err, &over) {
					problems[formAmount] = over.Problem
				}
			}
		}
	}
	// Form input is not escaped by Slack: take it as typed.
	ref, err := checkReference(value(formReference))
	if err != nil {
		problems[formReference] = err.(*UsageError).Problem
	}
	cmd.Reference = ref
	desc := strings.TrimSpace(value(formDescription))
	switch {
	case utf8.RuneCountInString(desc) > maxDescriptionIn:
		problems[formDescription] = "At most 500 characters."
	case strings.ContainsFunc(desc, func(r rune) bool { return r != '\n' && hiddenRune(r) }):
		problems[formDescription] = "Contains an invisible or control character; type it again as plain text."
	}
	cmd.Description = desc
	if e := value(formExpiry); e != "" {
		d, err := parseExpiry(e)
		if err != nil {
			problems[formExpiry] = "Choose one of the options."
		}
		cmd.Expires = d
	}
	if len(problems) > 0 {
		return Command{}, problems
	}
	return cmd, nil
}
