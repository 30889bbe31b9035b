package flow

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/paylink/paylink/bot/payments"
	"github.com/paylink/paylink/dojo"
)

// TestCustomerSeesOnlyWhatTheAgentWrote: Dojo shows the description on the checkout
// page, so it carries only the agent's own words (or nothing); who asked, where and in
// which workspace travel in metadata, which the customer never sees.
func TestCustomerSeesOnlyWhatTheAgentWrote(t *testing.T) {
	from := Origin{Team: "T0001", Channel: "C0002", User: "U0003"}
	for _, desc := range []string{"", "Blue chair, invoice 42"} {
		s := New(Deps{Config: Config{PaymentSource: "payment-links"}})
		req := s.createRequest(CreateRequest{From: from,
			Order: Order{Amount: dojo.Money{Value: 1000, CurrencyCode: "GBP"}, Reference: "ref-1", Description: desc}}, "n1")
		if req.Description != desc {
			t.Errorf("description = %q, want exactly %q", req.Description, desc)
		}
		shown, _ := json.Marshal(struct {
			D, R string
		}{req.Description, req.Reference})
		for _, private := range []string{"T0001", "C0002", "U0003", "Slack"} {
			if strings.Contains(string(shown), private) {
				t.Errorf("the customer would see %q in %s", private, shown)
			}
		}
		if req.Metadata[payments.MetaTeam] != "T0001" || req.Metadata[payments.MetaChannel] != "C0002" || req.Metadata[payments.MetaUser] != "U0003" {
			t.Errorf("metadata = %v, want the Slack ids", req.Metadata)
		}
	}
}
