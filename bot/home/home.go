// Package home publishes a user's Home tab in Slack: their open links with the card's
// buttons, what they were paid over the last 7 days, and, for admins and refunders, the workspace's
// totals today and over 7 days and by agent.
package home

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"github.com/paylink/paylink/bot/policy"
	"github.com/paylink/paylink/bot/slackout"
	"github.com/paylink/paylink/store"
)

// Store is what a Home tab reads. *store.Store satisfies it.
type Store interface {
	Day(t time.Time) string
	DayTotals(ctx context.Context, team string, days ...string) ([]store.Totals, error)
	NewestOpenLinks(ctx context.Context, n int) ([]*store.Link, error)
}

// openScanned is how many of the newest open links (every user's) are read to find a
// user's: a user whose open links are all older than that many others' sees fewer.
const openScanned = 500

// Republish bounds how often one user's Home tab is published again after a change.
const Republish = 10 * time.Second

// Publisher publishes Home tabs with views.publish.
type Publisher struct {
	Log         zerolog.Logger
	Store       Store
	Slack       *slack.Client
	Policy      policy.Policy
	CheckoutURL string
	Clock       clockwork.Clock

	mu   sync.Mutex
	last map[string]time.Time // team/user → when last published
}

// View builds a user's Home tab. Three round trips to Redis.
func (p *Publisher) View(ctx context.Context, team, user string) (slackout.HomeView, error) {
	now := p.Clock.Now()
	days := make([]string, 7)
	for i := range days {
		days[i] = p.Store.Day(now.AddDate(0, 0, i-6))
	}
	v := slackout.HomeView{User: user, Admin: p.Policy.MayRefund(user), CheckoutURL: p.CheckoutURL}
	open, err := p.Store.NewestOpenLinks(ctx, openScanned)
	if err != nil {
		return v, err
	}
	for _, l := range open {
		if l.TeamID == team && l.UserID == user && !store.Closed(l.Status) {
			v.Open = append(v.Open, l)
		}
	}
	per, err := p.Store.DayTotals(ctx, team, days...)
	if err != nil {
		return v, err
	}
	v.Week.Add(store.Totals{})
	v.Paid = store.Sums{}
	for _, t := range per {
		v.Week.Add(t)
	}
	for cur, t := range v.Week.Agents[user] {
		v.Paid[cur] = t
	}
	if v.Admin {
		v.Today = per[len(per)-1]
	}
	return v, nil
}

// Publish builds and publishes a user's Home tab.
func (p *Publisher) Publish(ctx context.Context, team, user string) error {
	v, err := p.View(ctx, team, user)
	if err != nil {
		return err
	}
	p.mu.Lock()
	if p.last == nil {
		p.last = map[string]time.Time{}
	}
	p.last[team+"/"+user] = p.Clock.Now()
	p.mu.Unlock()
	_, err = slackout.RateLimit{MinWait: time.Second, Attempts: 3}.Do(ctx, func() error {
		_, err := p.Slack.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: user, View: slackout.Home(v)})
		return err
	})
	if err != nil {
		return fmt.Errorf("views.publish: %s", slackout.ErrorCode(err))
	}
	return nil
}

// Changed publishes again the Home tab of a link's agent, if it was published before
// (the user opened it) and not within the last Republish; a change inside that window
// is left for the next. It reports whether it published.
func (p *Publisher) Changed(ctx context.Context, l *store.Link) bool {
	key := l.TeamID + "/" + l.UserID
	p.mu.Lock()
	last, seen := p.last[key]
	p.mu.Unlock()
	if !seen || p.Clock.Since(last) < Republish {
		return false
	}
	if err := p.Publish(ctx, l.TeamID, l.UserID); err != nil {
		p.Log.Warn().Err(err).Str("user", l.UserID).Msg("home: could not publish again")
		return false
	}
	return true
}
