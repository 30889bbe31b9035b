package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"unicode"
)

// TestReplayWhateverTheCase: Slack's signature is hex, accepted in either letter case,
// so a replay with its signature's case changed is the same request and is refused; and
// a refused command is recorded as seen like any other, so its replay is refused as a
// replay, not refused (and audited) again.
func TestReplayWhateverTheCase(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, merge(fastNotify, env{"PAYLINK_ACK_BUDGET": "2s", "PAYLINK_ALLOWED_CHANNELS": "C2147483705"}))
	upper := func(sig string) string { return "v0=" + strings.ToUpper(strings.TrimPrefix(sig, "v0=")) }
	oneLetter := func(sig string) string {
		b := []rune(sig)
		for i := len("v0="); i < len(b); i++ {
			if unicode.IsLetter(b[i]) {
				b[i] = unicode.ToUpper(b[i])
				break
			}
		}
		return string(b)
	}
	cases := []struct {
		name, text, channel string
		change              func(string) string
	}{
		{"create, upper-cased", "10 GBP case-1", "C2147483705", upper},
		{"create, one letter", "10 GBP case-2", "C2147483705", oneLetter},
		{"over the cap", "20000 GBP case-3", "C2147483705", upper},
		{"channel not allowed", "10 GBP case-4", "C999", oneLetter},
		{"not allowed, verbatim", "10 GBP case-5", "C999", func(s string) string { return s }},
	}
	for _, c := range cases {
		form := h.commandForm(c.text, "case")
		form.Set("channel_id", c.channel)
		body := form.Encode()
		req := h.signedRequest("/slack/commands", "application/x-www-form-urlencoded", []byte(body))
		again, _ := http.NewRequest(http.MethodPost, req.URL.String(), strings.NewReader(body))
		again.Header = req.Header.Clone()
		again.Header.Set("X-Slack-Signature", c.change(req.Header.Get("X-Slack-Signature")))
		if resp, b, _ := h.do(req); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: first %d %s", c.name, resp.StatusCode, b)
		}
		if resp, _, _ := h.do(again); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: replayed %d, want 401", c.name, resp.StatusCode)
		}
	}
	if n := len(h.dojo.Created()); n != 2 {
		t.Errorf("%d intents, want 2: one for each create, none for a replay", n)
	}
	waitFor(t, "the refusals' audit entries", func() bool {
		return len(auditEvents(t, r, "refused")) >= 3
	})
	if got := auditEvents(t, r, "refused"); len(got) != 3 {
		t.Errorf("%d refusals audited, want 3: replays are not audited as refusals", len(got))
	}
}

// auditEvents returns the audit trail's entries of one kind: money events and
// refusals are kept in streams of their own.
func auditEvents(t *testing.T, r redisTarget, event string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, stream := range []string{"{events}:audit", "{events}:audit:refusals"} {
		msgs, err := r.rdb.XRange(context.Background(), r.prefix+stream, "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if m.Values["event"] == event {
				out = append(out, m.Values)
			}
		}
	}
	return out
}
