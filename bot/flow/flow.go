// Package flow is the life of a payment link as paylink runs it: create, list, find,
// status (refresh) and cancel, each a plain method of Service that takes and returns
// values. It asks policy, Dojo and the store; it knows nothing of HTTP, Slack's wire
// format or Block Kit: slackin decodes what Slack sends into its requests, and
// slackout renders its results.
package flow

import (
	"context"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"

	"github.com/paylink/paylink/bot/policy"
	"github.com/paylink/paylink/dojo"
)

// Config is how the flow behaves, read from the environment by cmd/paylink.
type Config struct {
	PaymentSource string            // sent as paymentSource; empty sends none
	TestMode      bool              // a sandbox Dojo key: links are recorded as test links
	MaxAmounts    policy.MaxAmounts // largest amount per link, per currency
	Policy        policy.Policy     // who may create, read and cancel links where
	WorkTimeout   time.Duration     // how long creating a link may take in all
	RetypeWindow  time.Duration     // the same command again within this returns the same link
	Zone          *time.Location    // where calendar days are counted (a reversal's "same day"); nil: UTC
}

// Dojo is every Dojo call the flow makes. *dojo.Client satisfies it.
type Dojo interface {
	intentMaker
	intentReader
	refunder
}

// Store is every store call the flow makes. *store.Store satisfies it.
type Store interface {
	claims
	records
	recorder
	auditor
	replays
	refundStore
	policy.Allower
}

// Deps are what a Service is built from.
type Deps struct {
	Config Config
	Dojo   Dojo
	Store  Store
	// Groups answers whether a user is in the allowed user groups; it may be nil
	// when the policy names none.
	Groups *policy.Groups
	Clock  clockwork.Clock // nil: the real clock
	// NewID returns a fresh random id: it marks each intent's create call, to find
	// an intent whose answer was lost.
	NewID func() string
}

// Service runs the link flow. Its methods are safe for concurrent use.
type Service struct {
	cfg    Config
	maker  intentMaker
	reader intentReader
	// refunder and refunds give money back (refund.go).
	refunder refunder
	refunds  refundStore
	claims   claims
	records  records
	status   recorder
	audits   auditor
	replays  replays
	allow    policy.Allower
	groups   *policy.Groups
	clock    clockwork.Clock
	newID    func() string
	intents  intentCache
}

// New returns a Service.
func New(d Deps) *Service {
	if d.Clock == nil {
		d.Clock = clockwork.NewRealClock()
	}
	if d.Groups == nil {
		d.Groups = policy.NewGroups(nil, d.Clock)
	}
	return &Service{
		cfg: d.Config, maker: d.Dojo, reader: d.Dojo, refunder: d.Dojo, refunds: d.Store,
		claims: d.Store, records: d.Store, status: d.Store, audits: d.Store, replays: d.Store, allow: d.Store,
		groups: d.Groups, clock: d.Clock, newID: d.NewID,
	}
}

// Config returns the configuration the service runs with.
func (s *Service) Config() Config { return s.cfg }

// Origin is where a request came from: the workspace, channel and user, and the
// response_url that reaches its author.
type Origin struct {
	Team, Channel, User string
	ResponseURL         string
}

// Order is what a new link asks for.
type Order struct {
	Amount      dojo.Money    // in minor units
	Reference   string        // shown to the customer and in Dojo
	Expires     time.Duration // 0 for Dojo's default
	Description string        // shown to the customer by Dojo; only from the form
}

// Expiry bounds for a link: Dojo voids an unpaid intent after 30 days by default.
const (
	DefaultExpiry = 30 * 24 * time.Hour
	MinExpiry     = 15 * time.Minute
	MaxExpiry     = 30 * 24 * time.Hour
)

// Replayed reports whether a request's signature was seen before, and notes it seen.
// Redis being down lets the request through (logged): everything it could do is
// idempotent.
func (s *Service) Replayed(ctx context.Context, log zerolog.Logger, sig string) bool {
	if sig == "" {
		return false
	}
	seen, err := s.replays.SeenSignature(ctx, sig)
	if err != nil {
		log.Warn().Err(err).Msg("could not check for a replayed request")
		return false
	}
	if seen {
		log.Warn().Str("outcome", "replayed").Msg("request signature seen before: refused")
	}
	return seen
}

type replays interface {
	SeenSignature(ctx context.Context, sig string) (bool, error)
}

// now is the time on the service's clock.
func (s *Service) now() time.Time { return s.clock.Now() }

// sleep waits d, or until ctx ends; it reports whether d passed.
func (s *Service) sleep(ctx context.Context, d time.Duration) bool {
	t := s.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.Chan():
		return true
	}
}
