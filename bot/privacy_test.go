package bot

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/paylink/paylink/bot/payments"
	"github.com/paylink/paylink/dojo"
)

// TestCustomerSeesOnlyWhatTheAgentWrote: Dojo shows the description on the checkout
// page, so it carries only the agent's own words (or nothing); who asked, where and in
// which workspace travel in metadata, which the customer never sees.
func TestCustomerSeesOnlyWhatTheAgentWrote(t *testing.T) {
	sc := slack.SlashCommand{TeamID: "T0001", ChannelID: "C0002", ChannelName: "vip-refunds", UserID: "U0003", UserName: "steve"}
	for _, desc := range []string{"", "Blue chair, invoice 42"} {
		l := &linker{cfg: Config{PaymentSource: "payment-links"}, now: time.Now}
		req := l.createRequest(createJob{sc: sc, nonce: "n1",
			cmd: Command{Amount: dojo.Money{Value: 1000, CurrencyCode: "GBP"}, Reference: "ref-1", Description: desc}})
		if req.Description != desc {
			t.Errorf("description = %q, want exactly %q", req.Description, desc)
		}
		shown, _ := json.Marshal(struct {
			D, R string
		}{req.Description, req.Reference})
		for _, private := range []string{"T0001", "C0002", "vip-refunds", "U0003", "steve", "Slack"} {
			if strings.Contains(string(shown), private) {
				t.Errorf("the customer would see %q in %s", private, shown)
			}
		}
		if req.Metadata[payments.MetaTeam] != "T0001" || req.Metadata[payments.MetaChannel] != "C0002" || req.Metadata[payments.MetaUser] != "U0003" {
			t.Errorf("metadata = %v, want the Slack ids", req.Metadata)
		}
	}
}
