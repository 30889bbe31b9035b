package slackout

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/paylink/paylink/store"
)

// TestHomeGolden renders the Home tab at its largest (an admin with more open links
// than shown and every total full) and a new user's, checks them against Slack's
// limits for a Home tab, and compares them with testdata/home-*.json.
func TestHomeGolden(t *testing.T) {
	var open []*store.Link
	for i := range HomeOpenLinks + 3 {
		l := worstLink("Created")
		l.IntentID = fmt.Sprintf("pi_sandbox_%032d", i)
		l.CreatedAt = time.Unix(1_700_000_000-int64(i)*3600, 0)
		open = append(open, l)
	}
	full := fullTotals(40)
	tests := []struct {
		name    string
		v       HomeView
		buttons int
		has     []string
		hasNot  []string
	}{
		{"home-admin.json", HomeView{User: "U1", Open: open, Paid: full.Kinds[store.KindPaid], Admin: true, Today: full, Week: full,
			CheckoutURL: "https://pay.dojo.tech/checkout/"}, 2 * HomeOpenLinks,
			[]string{"Workspace", "Last 7 days", "10. <@U0000000030>", "and 3 older open links", "&amp;&amp;"}, nil},
		{"home-new.json", HomeView{User: "U2", CheckoutURL: "https://pay.dojo.tech/checkout/"}, 0,
			[]string{"You have no open links", "Paid to you in the last 7 days*\nnone"}, []string{"Workspace"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			view := Home(tt.v)
			checkBlocks(t, tt.name, view.Blocks.BlockSet, HomeMaxBlocks)
			var b strings.Builder
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			enc.Encode(view)
			// The view marshals its blocks itself, escaping HTML characters.
			raw := strings.NewReplacer(`\u0026`, "&", `\u003c`, "<", `\u003e`, ">").Replace(b.String())
			for _, s := range tt.has {
				if !strings.Contains(raw, strings.ReplaceAll(s, "\n", `\n`)) {
					t.Errorf("Home lacks %q", s)
				}
			}
			for _, s := range tt.hasNot {
				if strings.Contains(raw, s) {
					t.Errorf("Home shows %q", s)
				}
			}
			if n := strings.Count(raw, `"action_id":"`+ActionRefresh+`"`) + strings.Count(raw, `"action_id":"`+ActionCancel+`"`); n != tt.buttons {
				t.Errorf("%d Refresh and Cancel buttons, want %d", n, tt.buttons)
			}
			goldenJSON(t, tt.name, view)
		})
	}
}
