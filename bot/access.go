package bot

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"github.com/paylink/paylink/bot/audit"
	"github.com/paylink/paylink/store"
)

// Policy says who may create links where. The zero Policy lets everyone, everywhere,
// without a rate limit.
type Policy struct {
	Channels   map[string]bool // when set, links may be made only in these channels
	Users      map[string]bool // when users or groups are set, a user must be in one of them
	Usergroups []string
	Admins     map[string]bool // pass every allow-list, and may cancel any link
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

// refuse returns why sc may not create a link, or "" when it may.
func (p Policy) refuse(ctx context.Context, l *linker, sc slack.SlashCommand) string {
	if p.Admins[sc.UserID] {
		return ""
	}
	if len(p.Channels) > 0 && !p.Channels[sc.ChannelID] {
		return "Payment links can't be created in this channel. Ask a Paylink admin which channels are set up for it."
	}
	if len(p.Users) == 0 && len(p.Usergroups) == 0 {
		return ""
	}
	if p.Users[sc.UserID] {
		return ""
	}
	member, err := l.groups.member(ctx, l.slack, p.Usergroups, sc.UserID, p.GroupTTL)
	if err != nil {
		return "Paylink could not check your user groups with Slack, so no link was created. Please try again in a minute."
	}
	if member {
		return ""
	}
	return "You are not among the people who may create payment links. Ask a Paylink admin to add you."
}

// groupCache caches the members of Slack user groups.
type groupCache struct {
	mu      sync.Mutex
	entries map[string]groupEntry
	now     func() time.Time
}

type groupEntry struct {
	members map[string]bool
	fetched time.Time
}

// member reports whether user is in any of groups, asking Slack at most once per ttl
// per group.
func (c *groupCache) member(ctx context.Context, api *slack.Client, groups []string, user string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		ttl = 5 * time.Minute
	}
	now := time.Now
	if c.now != nil {
		now = c.now
	}
	var firstErr error
	for _, g := range groups {
		c.mu.Lock()
		e, ok := c.entries[g]
		c.mu.Unlock()
		if !ok || now().Sub(e.fetched) > ttl {
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			users, err := api.GetUserGroupMembersContext(cctx, g)
			cancel()
			if err != nil {
				if ok { // serve the stale list rather than lock everyone out
					users = nil
				} else {
					firstErr = err
					continue
				}
			} else {
				e = groupEntry{members: map[string]bool{}, fetched: now()}
				for _, u := range users {
					e.members[u] = true
				}
				c.mu.Lock()
				if c.entries == nil {
					c.entries = map[string]groupEntry{}
				}
				c.entries[g] = e
				c.mu.Unlock()
			}
		}
		if e.members[user] {
			return true, nil
		}
	}
	return false, firstErr
}

// Replayed reports whether a request's signature was seen before. Redis being down
// lets the request through (logged): everything it could do is idempotent.
func (l *linker) Replayed(ctx context.Context, log zerolog.Logger, sig string) bool {
	if sig == "" {
		return false
	}
	seen, err := l.store.SeenSignature(ctx, sig)
	if err != nil {
		log.Warn().Err(err).Msg("could not check for a replayed request")
		return false
	}
	if seen {
		log.Warn().Str("outcome", "replayed").Msg("request signature seen before: refused")
	}
	return seen
}

// refused logs and audits a refused command.
func (l *linker) refused(log zerolog.Logger, sc slack.SlashCommand, cmd Command, why string) {
	log.Info().Str("outcome", "rejected").Str("problem", why).Msg("slash command")
	l.tasks.Go(5*time.Second, func(ctx context.Context) {
		l.audit(ctx, log, store.AuditEvent{Event: "refused", Team: sc.TeamID, Channel: sc.ChannelID, User: sc.UserID,
			Amount: cmd.Amount.Value, Currency: cmd.Amount.CurrencyCode, Reference: cmd.Reference, Detail: why})
	})
}

// audit writes an audit event to the log and the audit stream.
func (l *linker) audit(ctx context.Context, log zerolog.Logger, e store.AuditEvent) {
	audit.Write(ctx, log, l.store, e)
}

// humanDuration says a duration the way people do: "1 hour", "10 minutes".
func humanDuration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	case d >= 24*time.Hour:
		return "1 day"
	case d >= 2*time.Hour:
		return fmt.Sprintf("%d hours", int(d/time.Hour))
	case d >= time.Hour:
		return "1 hour"
	case d >= 2*time.Minute:
		return fmt.Sprintf("%d minutes", int(d/time.Minute))
	}
	return "1 minute"
}
