package bot

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/store"
)

// Asking Dojo where a link stands (/paylink status, Refresh status) is limited per
// user, and Dojo's answer to status is reused for a few seconds (Refresh status, an
// explicit "ask Dojo now", always asks), so nobody can make paylink hammer Dojo.
const (
	lookupLimit    = 20
	lookupWindow   = time.Minute
	lookupCacheTTL = 5 * time.Second
	lookupCacheMax = 1024
)

// mayLookUp counts a look-up against the user's limit; it returns a refusal to show,
// or "".
func (l *linker) mayLookUp(ctx context.Context, log zerolog.Logger, team, user, reqID string) string {
	ok, wait, err := l.store.Allow(ctx, "lookup", team, user, reqID, lookupLimit, lookupWindow)
	if err != nil {
		log.Warn().Err(err).Msg("could not check the look-up limit")
		return ""
	}
	if ok {
		return ""
	}
	log.Info().Str("outcome", "rate_limited").Msg("look-up")
	return fmt.Sprintf("You have asked Dojo about %d links in the last minute, the most allowed. Try again in %s.",
		lookupLimit, humanDuration(wait.Round(time.Second)+time.Second))
}

// mayView reports whether user may see rec from channel: a link is shown in its own
// channel, and elsewhere only to the agent who asked for it and to admins.
func (l *linker) mayView(rec *store.Link, sc slack.SlashCommand) bool {
	return rec.ChannelID == sc.ChannelID || rec.UserID == sc.UserID || l.cfg.Policy.Admins[sc.UserID]
}

// intentCache keeps Dojo's answers about intents for lookupCacheTTL.
type intentCache struct {
	mu      sync.Mutex
	entries map[string]cachedIntent
}

type cachedIntent struct {
	pi *dojo.PaymentIntent
	at time.Time
}

// currentIntent is Dojo's answer about id, at most lookupCacheTTL old.
func (l *linker) currentIntent(ctx context.Context, id string) (*dojo.PaymentIntent, error) {
	c := &l.intents
	now := l.now()
	c.mu.Lock()
	if e, ok := c.entries[id]; ok && now.Sub(e.at) < lookupCacheTTL {
		c.mu.Unlock()
		return e.pi, nil
	}
	c.mu.Unlock()
	pi, err := l.links.PaymentIntent(ctx, id)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= lookupCacheMax {
		c.entries = map[string]cachedIntent{}
	}
	c.entries[id] = cachedIntent{pi: pi, at: now}
	return pi, nil
}

// forget drops what is cached about id, after paylink changed it at Dojo.
func (l *linker) forget(id string) {
	l.intents.mu.Lock()
	defer l.intents.mu.Unlock()
	delete(l.intents.entries, id)
}
