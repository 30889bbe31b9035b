package payments

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/store"
)

// ReconcileConfig tunes reconciliation.
type ReconcileConfig struct {
	Interval time.Duration // how often open links are checked; default 5 minutes
	Rate     float64       // Dojo requests per second at most; default 5
	Batch    int           // links checked per run at most; default 2000
	// LockTTL is how far ahead of now a working run keeps its lock; default 30 s, or
	// the interval when that is shorter. A replica that dies mid-run holds the others
	// off for at most this long.
	LockTTL time.Duration
}

// reconcileLock is the lock one replica holds while it reconciles, and until the next
// run is due.
const reconcileLock = "reconcile"

// reconcileStore is what reconciliation reads and writes in Redis. *store.Store
// satisfies it.
type reconcileStore interface {
	TryLock(ctx context.Context, name, token string, ttl time.Duration) (bool, error)
	ExtendLock(ctx context.Context, name, token string, ttl time.Duration) (bool, error)
	ReconcileCursor(ctx context.Context) (string, error)
	SetReconcileCursor(ctx context.Context, cursor string) error
	OpenLinks(ctx context.Context, since time.Time, cursor string, limit int) ([]store.OpenLink, string, error)
	LinkOrigin(ctx context.Context, intentID string) (store.Origin, bool, error)
	RecordStatus(ctx context.Context, e store.StatusEvent) (store.StatusChange, error)
}

// Reconciler asks Dojo about links still open, so a payment is reported even when its
// webhook never came. One replica runs it per interval, through a Redis lock. Each run
// takes the next Batch open links after where the last run stopped, so every open link
// is checked at least once every ceil(open links / Batch) intervals.
type Reconciler struct {
	cfg   ReconcileConfig
	store reconcileStore
	links Intents
	log   zerolog.Logger
	clock clockwork.Clock
}

// NewReconciler returns a reconciler built from d.
func NewReconciler(d Deps) *Reconciler {
	cfg := d.Reconcile
	if cfg.Interval <= 0 {
		cfg.Interval = 5 * time.Minute
	}
	if cfg.Rate <= 0 {
		cfg.Rate = 5
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 2000
	}
	if cfg.LockTTL <= 0 {
		cfg.LockTTL = min(30*time.Second, max(cfg.Interval, time.Second))
	}
	return &Reconciler{cfg: cfg, store: d.Store, links: d.Dojo, log: d.Log.With().Str("component", "reconciler").Logger(), clock: d.clock()}
}

// Run reconciles every interval until ctx ends.
func (r *Reconciler) Run(ctx context.Context) {
	for sleep(ctx, r.clock, r.cfg.Interval) {
		r.RunOnce(ctx)
	}
}

// RunOnce checks the next batch of open links if no other replica did within the
// interval. It returns how many status changes it recorded.
func (r *Reconciler) RunOnce(ctx context.Context) int {
	b := make([]byte, 8)
	rand.Read(b)
	token := hex.EncodeToString(b)
	// The lock is taken until the next run is due, and kept ahead of now while the run
	// works: a run slower than the interval is never joined by a second replica.
	spacing := r.cfg.Interval * 9 / 10
	ok, err := r.store.TryLock(ctx, reconcileLock, token, max(spacing, r.cfg.LockTTL))
	if err != nil {
		r.log.Warn().Err(err).Msg("reconciliation skipped: Redis unavailable")
		return 0
	}
	if !ok {
		return 0
	}
	start := r.clock.Now()
	wctx, lost := context.WithCancel(ctx)
	defer lost()
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		r.keepLock(wctx, lost, token)
	}()
	changes, checked := r.work(wctx)
	lost()
	<-renewed
	// Hold the lock until the next run is due (release it if that time has passed), if
	// it is still ours.
	ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	r.store.ExtendLock(ectx, reconcileLock, token, max(spacing-r.clock.Now().Sub(start), 0))
	cancel()
	r.log.Debug().Int("checked", checked).Int("changes", changes).Dur("took", r.clock.Now().Sub(start)).Msg("reconciliation run")
	return changes
}

// keepLock renews the lock until ctx ends; when the lock is no longer ours (or can't be
// renewed for longer than it lasts), it calls lost so the run stops.
func (r *Reconciler) keepLock(ctx context.Context, lost context.CancelFunc, token string) {
	last := r.clock.Now()
	for sleep(ctx, r.clock, r.cfg.LockTTL/3) {
		held, err := r.store.ExtendLock(ctx, reconcileLock, token, r.cfg.LockTTL)
		switch {
		case err == nil && held:
			last = r.clock.Now()
		case err == nil:
			r.log.Warn().Msg("reconciliation lock taken by another replica: stopping this run")
			lost()
			return
		case r.clock.Now().Sub(last) > r.cfg.LockTTL*2/3:
			r.log.Warn().Err(err).Msg("reconciliation lock could not be renewed: stopping this run")
			lost()
			return
		}
	}
}

// work checks up to Batch open links after the cursor, paced to Rate, and moves the
// cursor past those it checked.
func (r *Reconciler) work(ctx context.Context) (changes, checked int) {
	cursor, err := r.store.ReconcileCursor(ctx)
	if err != nil {
		r.log.Warn().Err(err).Msg("reconciliation skipped: could not read where it stopped")
		return 0, 0
	}
	open, next, err := r.store.OpenLinks(ctx, r.clock.Now().Add(-maxIntentAge), cursor, r.cfg.Batch)
	if err != nil {
		r.log.Warn().Err(err).Msg("reconciliation skipped: could not list open links")
		return 0, 0
	}
	pace := rate.NewLimiter(rate.Limit(r.cfg.Rate), 1)
	for _, l := range open {
		if pace.Wait(ctx) != nil {
			break
		}
		checked++
		if r.check(ctx, l.IntentID) {
			changes++
		}
	}
	switch {
	case checked == 0 && len(open) > 0:
		next = cursor // stopped before the first: start there again
	case checked < len(open):
		next = open[checked-1].Cursor // stopped early: continue after the last checked
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := r.store.SetReconcileCursor(sctx, next); err != nil {
		r.log.Warn().Err(err).Msg("reconciliation: could not record where it stopped")
	}
	return changes, checked
}

// check asks Dojo about one open link and records a change; it reports whether it
// recorded one.
func (r *Reconciler) check(ctx context.Context, id string) bool {
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	pi, err := r.links.PaymentIntent(cctx, id)
	cancel()
	if err != nil {
		r.log.Debug().Err(err).Str("intent", id).Msg("reconciliation: could not get the intent")
		return false
	}
	status := string(pi.Status)
	if pi.Status == dojo.StatusCreated && pi.ExpireAt != nil && r.clock.Now().After(*pi.ExpireAt) {
		status = store.StatusExpired
	} else if pi.Status == dojo.StatusCreated || !pi.Status.Valid() {
		return false
	}
	origin, _, err := r.store.LinkOrigin(ctx, id)
	if err != nil {
		r.log.Warn().Err(err).Str("intent", id).Msg("reconciliation: could not read the link")
		return false
	}
	ch, err := Record(ctx, r.store, store.StatusEvent{IntentID: id, Status: status,
		EventID: "reconcile", Source: "reconcile", Origin: origin})
	if err != nil {
		r.log.Warn().Err(err).Str("intent", id).Msg("reconciliation: could not record")
		return false
	}
	if ch.Recorded {
		r.log.Info().Str("intent", id).Str("status", status).Bool("queued", ch.Queued).Msg("reconciliation found a status change")
	}
	return ch.Recorded
}
