package slackout

import (
	"fmt"
	"strconv"

	"github.com/slack-go/slack"

	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/store"
)

// Home tab sizes.
const (
	HomeOpenLinks = 10 // the user's open links shown, newest first
	HomeTopAgents = 10 // agents named in an admin's Home tab
	// HomeMaxBlocks is Slack's limit on a Home tab's blocks.
	HomeMaxBlocks = 100
)

// HomeView is what a user's Home tab shows.
type HomeView struct {
	User string
	// Open are the user's open links, newest first (at most HomeOpenLinks are shown).
	Open []*store.Link
	// Paid is what the user was paid over the last 7 days, per currency.
	Paid store.Sums
	// Admin shows the workspace's totals: Today and Week (the last 7 days).
	Admin       bool
	Today, Week store.Totals
	CheckoutURL string
}

// Home renders a user's Home tab. Each open link has the card's Refresh status and
// Cancel link buttons, with the same action ids and values, so they act as on the card.
func Home(v HomeView) slack.HomeTabViewRequest {
	blocks := []slack.Block{
		slack.NewHeaderBlock(Plain("Your payment links")),
	}
	open := v.Open
	if len(open) > HomeOpenLinks {
		open = open[:HomeOpenLinks]
	}
	if len(open) == 0 {
		blocks = append(blocks, slack.NewSectionBlock(Mrkdwn("You have no open links. Type `/paylink 10.00 GBP ref-123` in a channel to make one."), nil, nil))
	}
	for i, l := range open {
		amount := dojo.Money{Value: l.Amount, CurrencyCode: l.Currency}.String()
		line := fmt.Sprintf("*%s* for %s\n%s · created %s", amount, Escape(clipRunes(l.Reference, 60)), StatusLine(l.Status), slackDate(l.CreatedAt))
		if l.ChannelID != "" {
			line += " in <#" + Escape(l.ChannelID) + ">"
		}
		if l.TestMode {
			line += " · TEST MODE"
		}
		line += "\n`" + v.CheckoutURL + l.IntentID + "`"
		blocks = append(blocks,
			slack.NewSectionBlock(Mrkdwn(line), nil, nil),
			slack.NewActionBlock("home_link_"+strconv.Itoa(i),
				slack.NewButtonBlockElement(ActionRefresh, l.IntentID, Plain("Refresh status")),
				cancelButton(l),
			))
	}
	if len(v.Open) > HomeOpenLinks {
		blocks = append(blocks, slack.NewContextBlock("", Mrkdwn(fmt.Sprintf("and %d older open links: `/paylink list` in a channel shows its links.", len(v.Open)-HomeOpenLinks))))
	}
	blocks = append(blocks,
		slack.NewDividerBlock(),
		slack.NewSectionBlock(Mrkdwn("*Paid to you in the last 7 days*\n"+clipRunes(SumsText(v.Paid), 2900)), nil, nil),
	)
	if v.Admin {
		blocks = append(blocks, slack.NewDividerBlock(), slack.NewHeaderBlock(Plain("Workspace")))
		for _, p := range []struct {
			title string
			t     store.Totals
		}{{"Today", v.Today}, {"Last 7 days", v.Week}} {
			var fields []*slack.TextBlockObject
			for _, k := range store.Kinds {
				fields = append(fields, Mrkdwn(fmt.Sprintf("*%s*\n%s", kindWords[k], clipRunes(SumsText(p.t.Of(k)), 1900))))
			}
			blocks = append(blocks,
				slack.NewSectionBlock(Mrkdwn("*"+p.title+"*"), fields, nil))
		}
		top := TopAgents(v.Week.Agents, HomeTopAgents)
		text := "*Paid by agent, last 7 days*\n"
		if len(top) == 0 {
			text += "nobody yet"
		}
		for i, a := range top {
			text += fmt.Sprintf("%d. %s: %s\n", i+1, userMention(a.User), SumsText(a.Paid))
		}
		blocks = append(blocks, slack.NewSectionBlock(Mrkdwn(clipRunes(text, 3000)), nil, nil))
	}
	return slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks}}
}
