package slackout

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/store"
)

// DigestReport is what the daily digest says about one day.
type DigestReport struct {
	Day    string       // 2006-01-02
	Totals store.Totals // the day's counters, every workspace summed
	// Oldest are the oldest links still open, oldest first.
	Oldest []*store.Link
	// Now is when the digest is made: how long the oldest links have been open.
	Now time.Time
}

// digestTopAgents is how many agents the digest names.
const digestTopAgents = 5

// kindWords names each counted kind in a report.
var kindWords = map[string]string{
	store.KindCreated:  "Links created",
	store.KindPaid:     "Paid",
	store.KindCanceled: "Canceled",
	store.KindExpired:  "Expired",
	store.KindRefunded: "Refunded",
}

// SumsText writes sums per currency, in code order, as "3 for £12.50, 1 for €7.00";
// "none" when empty.
func SumsText(s store.Sums) string {
	if len(s) == 0 {
		return "none"
	}
	var parts []string
	for _, c := range slices.Sorted(maps.Keys(s)) {
		t := s[c]
		parts = append(parts, fmt.Sprintf("%d for %s", t.Count, dojo.Money{Value: t.Amount, CurrencyCode: c}.String()))
	}
	return strings.Join(parts, ", ")
}

// AmountsText writes the amounts of sums per currency, in code order, as
// "£12.50 + €7.00"; "nothing" when empty.
func AmountsText(s store.Sums) string {
	if len(s) == 0 {
		return "nothing"
	}
	var parts []string
	for _, c := range slices.Sorted(maps.Keys(s)) {
		parts = append(parts, dojo.Money{Value: s[c].Amount, CurrencyCode: c}.String())
	}
	return strings.Join(parts, " + ")
}

// Agent is one agent's paid totals.
type Agent struct {
	User string
	Paid store.Sums
}

// TopAgents returns up to n agents by links paid, then by the amount in the first
// currency they share, then by user id: a stable order.
func TopAgents(agents map[string]store.Sums, n int) []Agent {
	out := make([]Agent, 0, len(agents))
	for u, s := range agents {
		out = append(out, Agent{User: u, Paid: s})
	}
	count := func(s store.Sums) (c int64) {
		for _, t := range s {
			c += t.Count
		}
		return c
	}
	amount := func(s store.Sums) (a int64) {
		for _, t := range s {
			a += t.Amount
		}
		return a
	}
	slices.SortFunc(out, func(a, b Agent) int {
		if d := count(b.Paid) - count(a.Paid); d != 0 {
			return int(max(min(d, 1), -1))
		}
		if d := amount(b.Paid) - amount(a.Paid); d != 0 {
			return int(max(min(d, 1), -1))
		}
		return strings.Compare(a.User, b.User)
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// userMention is a Slack mention of a user id; ids are Slack's, never typed text.
func userMention(id string) string { return "<@" + Escape(id) + ">" }

// Digest renders the daily digest: its text (the whole digest, as plain lines: the
// notification and what `paylink digest` prints) and its blocks.
func Digest(r DigestReport) (string, []slack.Block) {
	var lines []string
	title := "Paylink digest for " + digestDay(r.Day)
	lines = append(lines, title)
	for _, k := range store.Kinds {
		lines = append(lines, fmt.Sprintf("%s: %s", kindWords[k], SumsText(r.Totals.Of(k))))
	}
	top := TopAgents(r.Totals.Agents, digestTopAgents)
	var agentLines []string
	for i, a := range top {
		agentLines = append(agentLines, fmt.Sprintf("%d. %s: %s", i+1, userMention(a.User), SumsText(a.Paid)))
	}
	var openLines []string
	for _, l := range r.Oldest {
		openLines = append(openLines, fmt.Sprintf("• %s for %s by %s, open %s",
			dojo.Money{Value: l.Amount, CurrencyCode: l.Currency}.String(), Escape(clipRunes(l.Reference, 60)),
			userMention(l.UserID), HumanDuration(r.Now.Sub(l.CreatedAt).Truncate(time.Minute))))
	}

	text := strings.Join(lines, "\n")
	if len(agentLines) > 0 {
		text += "\nTop agents:\n" + strings.Join(agentLines, "\n")
	}
	if len(openLines) > 0 {
		text += "\nOldest links still open:\n" + strings.Join(openLines, "\n")
	} else {
		text += "\nNo links are still open."
	}

	blocks := []slack.Block{slack.NewHeaderBlock(Plain(clipRunes(title, 150)))}
	var fields []*slack.TextBlockObject
	for _, k := range store.Kinds {
		fields = append(fields, Mrkdwn(fmt.Sprintf("*%s*\n%s", kindWords[k], clipRunes(SumsText(r.Totals.Of(k)), 1900))))
	}
	blocks = append(blocks, slack.NewSectionBlock(nil, fields, nil))
	if len(agentLines) > 0 {
		blocks = append(blocks, slack.NewSectionBlock(Mrkdwn(clipRunes("*Top agents*\n"+strings.Join(agentLines, "\n"), 3000)), nil, nil))
	}
	if len(openLines) > 0 {
		blocks = append(blocks, slack.NewSectionBlock(Mrkdwn(clipRunes("*Oldest links still open*\n"+strings.Join(openLines, "\n"), 3000)), nil, nil))
	} else {
		blocks = append(blocks, slack.NewContextBlock("", Mrkdwn("No links are still open.")))
	}
	return clipRunes(text, 3000), blocks
}

// digestDay writes a day (2006-01-02) as "Sunday 29 November 2026".
func digestDay(day string) string {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return day
	}
	return t.Format("Monday 2 January 2006")
}
