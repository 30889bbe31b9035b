// Package policy is who may do what with links, in one place every path calls: the
// allow-lists of channels, users and user groups, the admins, the amount caps, the
// rate limits, and who may see and cancel a link.
package policy

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"
	"github.com/slack-go/slack"
	"golang.org/x/sync/singleflight"

	"github.com/paylink/paylink/bot/slackout"
	"github.com/paylink/paylink/store"
)

// Policy says who may create links where. The zero Policy lets everyone, everywhere,
// without a rate limit.
type Policy struct {
	Channels   map[string]bool // when set, links may be made only in these channels
	Users      map[string]bool // when users or groups are set, a user must be in one of them
	Usergroups []string
	Admins     map[string]bool // pass every allow-list, and may cancel and refund any link
	Refunders  map[string]bool // may refund any paid link (admins may too)
	RateLimit  int             // links per user per RateWindow; 0 = no limit
	RateWindow time.Duration
	GroupTTL   time.Duration // how long user-group membership is cached; default 5 minutes
}

// ParseRateLimit reads PAYLINK_RATE_LIMIT: "30/h" (the default when empty), "10/m",
// "200/d", or "off".
func ParseRateLimit(s string) (int, time.Duration, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	switch s {
	case "":
		return 30, time.Hour, nil
	case "off":
		return 0, 0, nil
	}
	n, unit, ok := strings.Cut(s, "/")
	var count int
	if _, err := fmt.Sscanf(n, "%d", &count); err != nil || !ok || count <= 0 || fmt.Sprint(count) != n {
		return 0, 0, fmt.Errorf("PAYLINK_RATE_LIMIT=%q: write N/m, N/h or N/d (like 30/h), or off", s)
	}
	switch unit {
	case "m":
		return count, time.Minute, nil
	case "h":
		return count, time.Hour, nil
	case "d":
		return count, 24 * time.Hour, nil
	}
	return 0, 0, fmt.Errorf("PAYLINK_RATE_LIMIT=%q: the period is m, h or d", s)
}

// Refuse returns why user may not make or read links in channel, or "" when they may.
// User groups are asked of Slack through groups.
func (p Policy) Refuse(ctx context.Context, groups *Groups, user, channel string) string {
	if p.Admins[user] {
		return ""
	}
	if len(p.Channels) > 0 && !p.Channels[channel] {
		return "Payment links can't be created in this channel. Ask a Paylink admin which channels are set up for it."
	}
	if len(p.Users) == 0 && len(p.Usergroups) == 0 {
		return ""
	}
	if p.Users[user] {
		return ""
	}
	member, err := groups.member(ctx, p.Usergroups, user, p.GroupTTL)
	if err != nil {
		return "Paylink could not check your user groups with Slack, so no link was created. Please try again in a minute."
	}
	if member {
		return ""
	}
	return "You are not among the people who may create payment links. Ask a Paylink admin to add you."
}

// MayView reports whether user may see rec from channel: a link is shown in its own
// channel, and elsewhere only to the agent who asked for it and to admins.
func (p Policy) MayView(rec *store.Link, user, channel string) bool {
	return rec.ChannelID == channel || rec.UserID == user || p.Admins[user]
}

// MayCancel reports whether user may cancel rec: the agent who asked for it, or an admin.
func (p Policy) MayCancel(rec *store.Link, user string) bool {
	return user == rec.UserID || p.Admins[user]
}

// MayRefund reports whether user may refund or reverse a payment: refunders and
// admins. Refunding moves money back out, so asking for the link is not enough.
func (p Policy) MayRefund(user string) bool {
	return p.Refunders[user] || p.Admins[user]
}

// GroupLister lists the members of a Slack user group. *slack.Client satisfies it.
type GroupLister interface {
	GetUserGroupMembersContext(ctx context.Context, group string, opts ...slack.GetUserGroupMembersOption) ([]string, error)
}

// Groups caches the members of Slack user groups. Commands that find a group's list
// missing or stale at the same moment share one call to Slack.
type Groups struct {
	api     GroupLister
	mu      sync.Mutex
	entries map[string]groupEntry
	clock   clockwork.Clock
	fetch   singleflight.Group
}

// NewGroups returns a cache of user groups asked of api, timed by clock (nil: the real
// clock).
func NewGroups(api GroupLister, clock clockwork.Clock) *Groups {
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	return &Groups{api: api, clock: clock}
}

type groupEntry struct {
	members map[string]bool
	fetched time.Time
}

// member reports whether user is in any of groups, asking Slack at most once per ttl
// per group.
func (c *Groups) member(ctx context.Context, groups []string, user string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		ttl = 5 * time.Minute
	}
	now := c.clock.Now
	var firstErr error
	for _, g := range groups {
		c.mu.Lock()
		e, ok := c.entries[g]
		c.mu.Unlock()
		if !ok || now().Sub(e.fetched) > ttl {
			// The call and the cache update are one step: whoever comes after it finds
			// the fresh list, even one who found the cache stale just before.
			v, err, _ := c.fetch.Do(g, func() (any, error) {
				c.mu.Lock()
				cur, ok := c.entries[g]
				c.mu.Unlock()
				if ok && now().Sub(cur.fetched) <= ttl {
					return cur, nil
				}
				// Not the asking command's context: the others waiting on this call
				// must not fail because the first one's request ended.
				cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
				defer cancel()
				users, err := c.api.GetUserGroupMembersContext(cctx, g)
				if err != nil {
					return nil, err
				}
				fresh := groupEntry{members: map[string]bool{}, fetched: now()}
				for _, u := range users {
					fresh.members[u] = true
				}
				c.mu.Lock()
				defer c.mu.Unlock()
				if c.entries == nil {
					c.entries = map[string]groupEntry{}
				}
				c.entries[g] = fresh
				return fresh, nil
			})
			switch {
			case err == nil:
				e = v.(groupEntry)
			case ok:
				// Serve the stale list rather than lock everyone out.
			default:
				firstErr = err
				continue
			}
		}
		if e.members[user] {
			return true, nil
		}
	}
	return false, firstErr
}

// Asking Dojo where a link stands (/paylink status, Refresh status) is limited per
// user, and Dojo's answer to status is reused for a few seconds (Refresh status, an
// explicit "ask Dojo now", always asks), so nobody can make paylink hammer Dojo.
const (
	lookupLimit  = 20
	lookupWindow = time.Minute
)

// Allower counts an action against a per-user limit. *store.Store satisfies it.
type Allower interface {
	Allow(ctx context.Context, what, team, user, mark string, limit int, window time.Duration) (bool, time.Duration, error)
}

// LookUp counts a look-up at Dojo against the user's limit; it returns a refusal to
// show, or "" (also when Redis can't count it: that is logged).
func LookUp(ctx context.Context, log zerolog.Logger, st Allower, team, user, mark string) string {
	ok, wait, err := st.Allow(ctx, "lookup", team, user, mark, lookupLimit, lookupWindow)
	if err != nil {
		log.Warn().Err(err).Msg("could not check the look-up limit")
		return ""
	}
	if ok {
		return ""
	}
	log.Info().Str("outcome", "rate_limited").Msg("look-up")
	return fmt.Sprintf("You have asked Dojo about %d links in the last minute, the most allowed. Try again in %s.",
		lookupLimit, slackout.HumanDuration(wait.Round(time.Second)+time.Second))
}
