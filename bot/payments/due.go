package payments

import (
	"context"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"

	"github.com/paylink/paylink/bot/slackout"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/store"
)

// DueConfig tunes what happens to links left open: reminders and expiry.
type DueConfig struct {
	// RemindAfter is how long a link stays unpaid before its agent is reminded, once,
	// in the card's thread; 0: never.
	RemindAfter time.Duration
	// Interval is how often links come due are looked for; default 30 s.
	Interval time.Duration
}

// dueBatch is how many links one look takes of each kind.
const dueBatch = 100

// dueStore is what the due-link sweep reads and writes. *store.Store satisfies it.
type dueStore interface {
	DueExpiries(ctx context.Context, now time.Time, limit int) ([]string, error)
	ExpireLater(ctx context.Context, intentID string, at time.Time) error
	DueReminders(ctx context.Context, cutoff, since time.Time, limit int) ([]string, error)
	Link(ctx context.Context, intentID string) (*store.Link, error)
	LinkOrigin(ctx context.Context, intentID string) (store.Origin, bool, error)
	RecordStatus(ctx context.Context, e store.StatusEvent) (store.StatusChange, error)
}

// Sweeper acts on links come due: a link past its expiry is checked with Dojo and,
// expired unpaid, recorded as Expired (the notifier then updates its card and says
// so in its thread); a link unpaid after RemindAfter gets one reminder in its thread
// that mentions its agent. Every replica sweeps; Redis hands each due link to one of
// them, once.
type Sweeper struct {
	cfg         DueConfig
	store       dueStore
	links       Intents
	chat        *slackout.Chat
	checkoutURL string
	log         zerolog.Logger
	clock       clockwork.Clock
}

// NewSweeper returns a sweeper built from d.
func NewSweeper(d Deps) *Sweeper {
	cfg := d.Due
	if cfg.Interval <= 0 {
		cfg.Interval = 30 * time.Second
	}
	return &Sweeper{cfg: cfg, store: d.Store, links: d.Dojo, chat: d.Chat, checkoutURL: d.CheckoutURL,
		log: d.Log.With().Str("worker", "sweeper").Logger(), clock: d.clock()}
}

// Run sweeps every Interval until ctx ends.
func (s *Sweeper) Run(ctx context.Context) {
	for {
		s.RunOnce(ctx)
		if !sleep(ctx, s.clock, s.cfg.Interval) {
			return
		}
	}
}

// RunOnce takes the links come due now and acts on them; it returns how many it
// recorded as expired and how many it reminded.
func (s *Sweeper) RunOnce(ctx context.Context) (expired, reminded int) {
	return s.expire(ctx), s.remind(ctx)
}

// expire checks each link past its expiry with Dojo. One Dojo could not answer about
// comes due again a minute later.
func (s *Sweeper) expire(ctx context.Context) int {
	now := s.clock.Now()
	ids, err := s.store.DueExpiries(ctx, now, dueBatch)
	if err != nil {
		s.log.Warn().Err(err).Msg("could not read the links past their expiry")
		return 0
	}
	n := 0
	for _, id := range ids {
		status, again := s.check(ctx, id)
		switch {
		case !again.IsZero():
			if err := s.store.ExpireLater(ctx, id, again); err != nil {
				s.log.Warn().Err(err).Str("intent", id).Msg("could not put a link back to check its expiry later")
			}
		case status == store.StatusExpired:
			n++
		}
	}
	return n
}

// check asks Dojo about a link past its expiry and records where it stands. It
// returns the status recorded, or when to look again: a minute on when Dojo did not
// answer, or the expiry Dojo gives when it is later than the one recorded.
func (s *Sweeper) check(ctx context.Context, id string) (string, time.Time) {
	log := s.log.With().Str("intent", id).Logger()
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	pi, err := s.links.PaymentIntent(cctx, id)
	cancel()
	now := s.clock.Now()
	switch {
	case dojo.IsNotFound(err):
		return "", time.Time{}
	case err != nil:
		log.Debug().Err(err).Msg("expiry: could not get the intent")
		return "", now.Add(time.Minute)
	case pi.Status == dojo.StatusCreated && pi.ExpireAt != nil && !now.After(*pi.ExpireAt):
		return "", *pi.ExpireAt
	case !pi.Status.Valid():
		return "", time.Time{}
	}
	status := string(pi.Status)
	if pi.Status == dojo.StatusCreated {
		status = store.StatusExpired
	}
	origin, _, err := s.store.LinkOrigin(ctx, id)
	if err != nil {
		return "", now.Add(time.Minute)
	}
	if _, err := Record(ctx, s.store, store.StatusEvent{IntentID: id, Status: status, EventID: "expiry", Source: "expiry", Origin: origin}); err != nil {
		log.Warn().Err(err).Msg("expiry: could not record")
		return "", now.Add(time.Minute)
	}
	log.Info().Str("status", status).Msg("link past its expiry checked")
	return status, time.Time{}
}

// remind posts one reminder for each link unpaid after RemindAfter. A link is handed
// out once: a reminder Slack would not take is not tried again.
func (s *Sweeper) remind(ctx context.Context) int {
	if s.cfg.RemindAfter <= 0 {
		return 0
	}
	now := s.clock.Now()
	ids, err := s.store.DueReminders(ctx, now.Add(-s.cfg.RemindAfter), now.Add(-maxIntentAge), dueBatch)
	if err != nil {
		s.log.Warn().Err(err).Msg("could not read the links due a reminder")
		return 0
	}
	n := 0
	for _, id := range ids {
		if s.remindOne(ctx, id) {
			n++
		}
	}
	return n
}

// remindOne reminds the agent of one link, if Dojo says it is still open.
func (s *Sweeper) remindOne(ctx context.Context, id string) bool {
	log := s.log.With().Str("intent", id).Logger()
	link, err := s.store.Link(ctx, id)
	if err != nil || store.Closed(link.Status) {
		return false
	}
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	pi, err := s.links.PaymentIntent(cctx, id)
	cancel()
	if err != nil || pi.Status != dojo.StatusCreated || Expired(link, pi, s.clock.Now()) {
		// Paid, canceled or expired meanwhile: the notifier or the expiry sweep says so.
		log.Debug().Err(err).Msg("no reminder: the link is not open at Dojo")
		return false
	}
	channel, thread := link.MessageChannel, link.MessageTS
	if channel == "" {
		channel = link.ChannelID
	}
	text, blocks := slackout.Reminder(link, s.clock.Since(link.CreatedAt), s.checkoutURL)
	msg := slackout.Message{Channel: channel, ThreadTS: thread, Text: text, Blocks: blocks}
	if _, _, err := slackout.PostMessage(ctx, s.chat, s.clock, msg); err != nil {
		log.Warn().Str("slack_error", slackout.ErrorCode(err)).Msg("could not post the reminder")
		return false
	}
	log.Info().Msg("reminder posted")
	return true
}
