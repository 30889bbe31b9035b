package slackout

import (
	"encoding/json"

	"github.com/paylink/paylink/dojo"
	"github.com/slack-go/slack"
)

// The form's callback id and block ids. Each input's action id is its block id.
const (
	FormCallbackID  = "paylink_create"
	FormAmount      = "amount"
	FormCurrency    = "currency"
	FormReference   = "reference"
	FormDescription = "description"
	FormExpiry      = "expiry"
	// FormDescriptionMax is the most characters the description field takes.
	FormDescriptionMax = 500
)

// FormOrigin is the form's private_metadata: where the command that opened it came
// from, so the link is posted there.
type FormOrigin struct {
	Channel     string `json:"c"`
	ChannelName string `json:"n,omitempty"`
	ResponseURL string `json:"r,omitempty"`
}

// expiryChoices are the form's expiry options (value: a --expires duration).
var expiryChoices = []struct{ value, label string }{
	{"1h", "1 hour"}, {"24h", "24 hours"}, {"7d", "7 days"}, {"30d", "30 days"},
}

// Form is the modal "/paylink" alone opens; referenceMax is the longest reference.
func Form(origin FormOrigin, referenceMax int) slack.ModalViewRequest {
	meta, _ := json.Marshal(origin)
	input := func(id, label, placeholder string, max int, multiline bool) *slack.InputBlock {
		el := slack.NewPlainTextInputBlockElement(Plain(placeholder), id)
		el.MaxLength, el.Multiline = max, multiline
		return slack.NewInputBlock(id, Plain(label), nil, el)
	}
	var currencies []*slack.OptionBlockObject
	for _, code := range dojo.CurrencyCodes() {
		currencies = append(currencies, slack.NewOptionBlockObject(code, Plain(code), nil))
	}
	currency := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, Plain("Currency"), FormCurrency, currencies...)
	for _, o := range currencies {
		if o.Value == "GBP" {
			currency.InitialOption = o
		}
	}
	var expiries []*slack.OptionBlockObject
	for _, e := range expiryChoices {
		expiries = append(expiries, slack.NewOptionBlockObject(e.value, Plain(e.label), nil))
	}
	description := input(FormDescription, "Description (optional)", "Shown to the customer on the checkout page", FormDescriptionMax, true)
	description.Optional = true
	expiry := slack.NewInputBlock(FormExpiry, Plain("Expires after (optional; 30 days if not set)"), nil,
		slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, Plain("30 days"), FormExpiry, expiries...))
	expiry.Optional = true
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      FormCallbackID,
		Title:           Plain("New payment link"),
		Submit:          Plain("Create link"),
		Close:           Plain("Cancel"),
		PrivateMetadata: string(meta),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			input(FormAmount, "Amount", "10.00", 20, false),
			slack.NewInputBlock(FormCurrency, Plain("Currency"), nil, currency),
			input(FormReference, "Reference", "Order number or invoice, shown to the customer", referenceMax, false),
			description,
			expiry,
		}},
	}
}

// Duplicate is the answer to a command whose reference has a link still open: text,
// and the "Create another anyway" button carrying buttonValue.
func Duplicate(text, buttonValue string) []slack.Block {
	return []slack.Block{
		slack.NewSectionBlock(Mrkdwn(text), nil, nil),
		slack.NewActionBlock("duplicate_actions",
			slack.NewButtonBlockElement(ActionCreateAnyway, buttonValue, Plain("Create another anyway"))),
	}
}
