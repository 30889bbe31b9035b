package flow

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/store"
)

// records reads link records.
type records interface {
	Link(ctx context.Context, intentID string) (*store.Link, error)
	ChannelLinks(ctx context.Context, team, channel string, n int) ([]*store.Link, error)
	LinksByReference(ctx context.Context, team, reference string, n int) ([]*store.Link, error)
}

// ListLen is how many links List returns.
const ListLen = 10

// List returns the last links asked for in a channel, newest first.
func (s *Service) List(ctx context.Context, from Origin) ([]*store.Link, error) {
	return s.records.ChannelLinks(ctx, from.Team, from.Channel, ListLen)
}

// Link returns the record of a link of the workspace, or store.ErrNotFound.
func (s *Service) Link(ctx context.Context, team, intentID string) (*store.Link, error) {
	rec, err := s.records.Link(ctx, intentID)
	if err == nil && rec.TeamID != team {
		return nil, store.ErrNotFound
	}
	return rec, err
}

// Find finds the link a status or cancel names: an intent id of this workspace, or
// the newest link with the reference (an open one first, when preferOpen). A link the
// user may not see from where they asked is store.ErrNotFound too: another channel's
// link, perhaps a private one's, is neither shown nor confirmed.
func (s *Service) Find(ctx context.Context, from Origin, target string, preferOpen bool) (*store.Link, error) {
	rec, err := s.find(ctx, from.Team, target, preferOpen)
	if err == nil && !s.cfg.Policy.MayView(rec, from.User, from.Channel) {
		return nil, store.ErrNotFound
	}
	return rec, err
}

func (s *Service) find(ctx context.Context, team, target string, preferOpen bool) (*store.Link, error) {
	if strings.HasPrefix(target, "pi_") && dojo.ValidIntentID(target) {
		rec, err := s.Link(ctx, team, target)
		if err == nil || !errors.Is(err, store.ErrNotFound) {
			return rec, err
		}
	}
	links, err := s.records.LinksByReference(ctx, team, target, 20)
	if err != nil {
		return nil, err
	}
	if len(links) == 0 {
		return nil, store.ErrNotFound
	}
	if preferOpen {
		for _, rec := range links {
			if !store.Closed(rec.Status) {
				return rec, nil
			}
		}
	}
	return links[0], nil
}

// intentReader reads a payment intent at Dojo.
type intentReader interface {
	PaymentIntent(ctx context.Context, id string) (*dojo.PaymentIntent, error)
}

// lookupCacheTTL is how long Dojo's answer about an intent is reused; lookupCacheMax
// bounds the answers kept.
const (
	lookupCacheTTL = 5 * time.Second
	lookupCacheMax = 1024
)

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
func (s *Service) currentIntent(ctx context.Context, id string) (*dojo.PaymentIntent, error) {
	c := &s.intents
	now := s.now()
	c.mu.Lock()
	if e, ok := c.entries[id]; ok && now.Sub(e.at) < lookupCacheTTL {
		c.mu.Unlock()
		return e.pi, nil
	}
	c.mu.Unlock()
	pi, err := s.reader.PaymentIntent(ctx, id)
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

// Forget drops what is known of id from Dojo, so the next status asks Dojo again.
func (s *Service) Forget(id string) {
	s.intents.mu.Lock()
	defer s.intents.mu.Unlock()
	delete(s.intents.entries, id)
}
