package slackin

import (
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/paylink/paylink/bot/slackout"
	"github.com/paylink/paylink/dojo"
)

func TestParseRefundCommand(t *testing.T) {
	tests := []struct {
		in, target, amount, whole string
		bad                       bool
	}{
		{"refund ref-123", "ref-123", "", "ref-123", false},
		{"refund ref-123 4.00", "ref-123", "4.00", "ref-123 4.00", false},
		{"Refund  Order 236 ", "Order", "236", "Order 236", false},
		{"refund pi_sandbox_AbC £4", "pi_sandbox_AbC", "£4", "pi_sandbox_AbC £4", false},
		{"refund r 4.001", "r", "4.001", "r 4.001", false},
		{"refund r -1", "r", "-1", "r -1", false},
		{"refund &lt;!channel&gt;", "<!channel>", "", "<!channel>", false},
		{"refund 4.00", "4.00", "", "4.00", false},
		{"refund", "", "", "", true},
		{"refund   ", "", "", "", true},
		{"refund " + strings.Repeat("x", 101), "", "", "", true},
	}
	for _, tt := range tests {
		cmd, err := ParseCommand(tt.in)
		if tt.bad {
			var ue *UsageError
			if err == nil || !strings.Contains(err.Error(), "refund") && !strings.Contains(err.Error(), "not a reference") || !asUsage(err, &ue) || !ue.Subcommand {
				t.Errorf("ParseCommand(%q) = %+v, %v; want a refund usage error", tt.in, cmd, err)
			}
			continue
		}
		if err != nil || cmd.Kind != CommandRefund || cmd.Target != tt.target || cmd.Refund.Amount != tt.amount || cmd.Refund.Whole != tt.whole {
			t.Errorf("ParseCommand(%q) = %+v, %v; want target %q, amount %q, whole %q", tt.in, cmd, err, tt.target, tt.amount, tt.whole)
		}
	}
}

func asUsage(err error, ue **UsageError) bool {
	u, ok := err.(*UsageError)
	*ue = u
	return ok
}

func TestRefundAmount(t *testing.T) {
	gbp, _ := dojo.LookupCurrency("GBP")
	tests := []struct {
		in      string
		want    int64
		problem string
	}{
		{"4", 400, ""},
		{"4.00", 400, ""},
		{"£4.5", 450, ""},
		{" 6.00 ", 600, ""},
		{"6.01", 0, "At most £6.00 is left to refund."},
		{"0", 0, "Not a valid amount"},
		{"4.001", 0, "Not a valid amount"},
		{"-1", 0, "Not a valid amount"},
		{"four", 0, "Not a valid amount"},
		{"€4", 0, "the payment was in GBP"},
		{"", 0, "Not a valid amount"},
	}
	for _, tt := range tests {
		got, problem := RefundAmount(tt.in, gbp, 600)
		if got != tt.want || tt.problem == "" && problem != "" || !strings.Contains(problem, tt.problem) {
			t.Errorf("RefundAmount(%q) = %d, %q; want %d, %q", tt.in, got, problem, tt.want, tt.problem)
		}
	}
}

func refundState(how, amount, reason string) *slack.ViewState {
	st := &slack.ViewState{Values: map[string]map[string]slack.BlockAction{
		slackout.RefundAmount: {slackout.RefundAmount: {Value: amount}},
		slackout.RefundReason: {slackout.RefundReason: {Value: reason}},
	}}
	if how != "" {
		st.Values[slackout.RefundHow] = map[string]slack.BlockAction{slackout.RefundHow: {SelectedOption: slack.OptionBlockObject{Value: how}}}
	}
	return st
}

func TestParseRefundForm(t *testing.T) {
	gbp, _ := dojo.LookupCurrency("GBP")
	tests := []struct {
		name        string
		state       *slack.ViewState
		left        int64
		want        RefundOrder
		problemOn   string
		problemText string
	}{
		{"a refund", refundState("", "4.00", " broken "), 1000, RefundOrder{Amount: 400, Reason: "broken"}, "", ""},
		{"a refund chosen", refundState(slackout.HowRefund, "10", ""), 1000, RefundOrder{Amount: 1000}, "", ""},
		{"a reversal", refundState(slackout.HowReverse, "4.00", "same day"), 1000, RefundOrder{Amount: 1000, Reverse: true, Reason: "same day"}, "", ""},
		{"a reversal after a refund", refundState(slackout.HowReverse, "", ""), 600, RefundOrder{}, slackout.RefundHow, "whole payment"},
		{"too much", refundState("", "6.01", ""), 600, RefundOrder{}, slackout.RefundAmount, "At most £6.00"},
		{"zero", refundState("", "0.00", ""), 600, RefundOrder{}, slackout.RefundAmount, "Not a valid amount"},
		{"too many decimals", refundState("", "1.234", ""), 600, RefundOrder{}, slackout.RefundAmount, "Not a valid amount"},
		{"a hidden character", refundState("", "1", "a\u202eb"), 600, RefundOrder{}, slackout.RefundReason, "invisible"},
		{"a reason too long", refundState("", "1", strings.Repeat("r", 1025)), 600, RefundOrder{}, slackout.RefundReason, "1024"},
		{"a made-up choice", refundState("all", "1", ""), 600, RefundOrder{}, slackout.RefundHow, "Choose"},
		{"no state", nil, 600, RefundOrder{}, slackout.RefundAmount, "Not a valid amount"},
	}
	for _, tt := range tests {
		got, problems := ParseRefundForm(tt.state, gbp, 1000, tt.left)
		if got != tt.want || tt.problemOn == "" && problems != nil || tt.problemOn != "" && !strings.Contains(problems[tt.problemOn], tt.problemText) {
			t.Errorf("%s: ParseRefundForm = %+v, %v; want %+v, a problem on %q with %q", tt.name, got, problems, tt.want, tt.problemOn, tt.problemText)
		}
	}
}
