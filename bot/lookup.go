package bot

import (
	"context"
	"sync"
	"time"

	"github.com/paylink/paylink/dojo"
)

// lookupCacheTTL is how long Dojo's answer to status is reused; lookupCacheMax bounds
// the answers kept.
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
