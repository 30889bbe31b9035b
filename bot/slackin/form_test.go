package slackin

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/paylink/paylink/bot/flow"
	"github.com/paylink/paylink/bot/policy"
	"github.com/paylink/paylink/bot/slackout"
	"github.com/paylink/paylink/bot/slackout/slackouttest"
)

// checkBlocks fails the test where blocks break Slack's Block Kit limits.
func checkBlocks(t *testing.T, where string, blocks []slack.Block, maxBlocks int) {
	t.Helper()
	for _, p := range slackouttest.LimitProblems(blocks, maxBlocks) {
		t.Errorf("%s: %s", where, p)
	}
}

// TestDuplicateButtonAndForm: the "Create another anyway" button and the form fit
// Slack's limits at their largest.
func TestDuplicateButtonAndForm(t *testing.T) {
	description := strings.Repeat("<", slackout.FormDescriptionMax)
	for _, desc := range []string{description, strings.Repeat("\"\n", 500)} {
		sent := slackout.AnywayValue{Amount: 1, Currency: "GBP", Reference: strings.Repeat("\"", 60), Description: desc, Expires: int64(flow.MaxExpiry / time.Second)}
		value := sent.Encode()
		checkBlocks(t, "duplicate answer", slackout.Duplicate(strings.Repeat("<", 2900), value), 50)
		back, ok := AnywayOrder(value)
		if !ok || back.Reference != sent.Reference || back.Amount.Value != 1 || back.Expires != flow.MaxExpiry {
			t.Errorf("button value %q does not decode back: %+v", value, back)
		}
	}

	view := slackout.Form(slackout.FormOrigin{Channel: "C2147483705", ChannelName: strings.Repeat("c", 80), ResponseURL: "https://hooks.slack.com/commands/T0001/" + strings.Repeat("9", 100)}, MaxReferenceLen)
	checkBlocks(t, "form", view.Blocks.BlockSet, 100)
	for what, s := range map[string]string{"title": view.Title.Text, "submit": view.Submit.Text, "close": view.Close.Text} {
		if utf8.RuneCountInString(s) > 24 {
			t.Errorf("form %s %q is over 24 characters", what, s)
		}
	}
	if len(view.PrivateMetadata) > 3000 {
		t.Errorf("form private_metadata is %d bytes", len(view.PrivateMetadata))
	}
}

// FuzzParseForm: any form state a submission carries parses into a command or into
// problems, without panicking.
func FuzzParseForm(f *testing.F) {
	f.Add(`{"values":{"amount":{"amount":{"value":"10"}}}}`)
	f.Add(`{"values":{"amount":{"amount":{"value":"1,250.50"}},"currency":{"currency":{"selected_option":{"value":"EUR"}}},"reference":{"reference":{"value":"INV-1"}}}}`)
	f.Fuzz(func(t *testing.T, state string) {
		var st slack.ViewState
		if json.Unmarshal([]byte(state), &st) == nil {
			ParseForm(&st, policy.MaxAmounts{})
		}
	})
}

// TestFormShowsEveryMistake: each field's mistake shows on it, whatever else is
// missing, in the form's own words.
func TestFormShowsEveryMistake(t *testing.T) {
	limits, _ := policy.ParseMaxAmounts("")
	state := func(amount, currency, reference string) *slack.ViewState {
		st := &slack.ViewState{Values: map[string]map[string]slack.BlockAction{
			slackout.FormAmount:    {slackout.FormAmount: {Value: amount}},
			slackout.FormReference: {slackout.FormReference: {Value: reference}},
		}}
		if currency != "" {
			st.Values[slackout.FormCurrency] = map[string]slack.BlockAction{slackout.FormCurrency: {SelectedOption: slack.OptionBlockObject{Value: currency}}}
		}
		return st
	}
	tests := []struct {
		name                     string
		st                       *slack.ViewState
		amount, currency, refErr string // a word each problem must contain ("" = no problem)
	}{
		{"no currency, bad amount", state("12.345", "", "INV-1"), "decimal", "Choose", ""},
		{"no currency, good amount", state("12.34", "", "INV-1"), "", "Choose", ""},
		{"no reference", state("10", "GBP", ""), "", "", "Enter a reference"},
		{"all fine", state("10", "EUR", "INV-2"), "", "", ""},
	}
	for _, tt := range tests {
		_, problems := ParseForm(tt.st, limits)
		for field, want := range map[string]string{slackout.FormAmount: tt.amount, slackout.FormCurrency: tt.currency, slackout.FormReference: tt.refErr} {
			got := problems[field]
			if (want == "") != (got == "") || !strings.Contains(got, want) {
				t.Errorf("%s: %s problem %q, want one with %q", tt.name, field, got, want)
			}
			if strings.Contains(got, "after the currency") {
				t.Errorf("%s: %s speaks of the slash command: %q", tt.name, field, got)
			}
		}
	}
}
