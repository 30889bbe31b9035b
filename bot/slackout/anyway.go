package slackout

import (
	"encoding/json"
	"strings"
)

// AnywayValue is the "Create another anyway" button's value: the order to make again.
type AnywayValue struct {
	Amount      int64  `json:"a"`
	Currency    string `json:"c"`
	Reference   string `json:"r"`
	Expires     int64  `json:"e,omitempty"` // seconds
	Description string `json:"d,omitempty"`
}

// Encode is the button's value, within Slack's 2000-character limit for a button's
// value (a description that would not fit is left out).
func (v AnywayValue) Encode() string {
	enc := func() string {
		var b strings.Builder
		e := json.NewEncoder(&b)
		e.SetEscapeHTML(false)
		e.Encode(v)
		return strings.TrimSpace(b.String())
	}
	out := enc()
	if len([]rune(out)) > 2000 {
		v.Description = ""
		out = enc()
	}
	return out
}
