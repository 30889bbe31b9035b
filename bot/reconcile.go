package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/rs/zerolog"

	"github.com/paylink/paylink/dojo"
)

// ReconcileConfig tunes reconciliation.
type ReconcileConfig struct {
	Interval time.Duration // how often open links are checked; default 5 minutes
	Rate     float64       // Dojo requests per second at most; default 5
	Batch    int           // links checked per run at most; default 2000
}

// Reconciler asks Dojo about links still open, so a payment is reported even when its
// webhook never came. One replica runs it per interval, through a Redis lock.
type Reconciler struct {
	cfg   ReconcileConfig
	store Store
	links PaymentLinks
	log   zerolog.Logger
	now   func() time.Time
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
	now := d.Now
	if now == nil {
		now = time.Now
	}
	return &Reconciler{cfg: cfg, store: d.Store, links: d.Links, log: d.Log.With().Str("component", "reconciler").Logger(), now: now}
}

// Run reconciles every interval until ctx ends.
func (r *Reconciler) Run(ctx context.Context) {
	for sleep(ctx, r.cfg.Interval) {
		r.RunOnce(ctx)
	}
}

// RunOnce checks the open links if no other replica did within the interval. It
// returns how many status changes it recorded.
func (r *Reconciler) RunOnce(ctx context.Context) int {
	b := make([]byte, 8)
	rand.Read(b)
	ok, err := r.store.TryLock(ctx, "reconcile", hex.EncodeToString(b), r.cfg.Interval*9/10)
	if err != nil {
		r.log.Warn().Err(err).Msg("reconciliation skipped: Redis unavailable")
		return 0
	}
	if !ok {
		return 0
	}
	ids, err := r.store.OpenLinks(ctx, r.now().Add(-maxIntentAge), r.cfg.Batch)
	if err != nil {
		r.log.Warn().Err(err).Msg("reconciliation skipped: could not list open links")
		return 0
	}
	gap := time.Duration(float64(time.Second) / r.cfg.Rate)
	changes := 0
	start := r.now()
	for i, id := range ids {
		if i > 0 && !sleep(ctx, gap) {
			break
		}
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		pi, err := r.links.PaymentIntent(cctx, id)
		cancel()
		if err != nil {
			r.log.Debug().Err(err).Str("intent", id).Msg("reconciliation: could not get the intent")
			continue
		}
		status := string(pi.Status)
		if pi.Status == dojo.StatusCreated && pi.ExpireAt != nil && r.now().After(*pi.ExpireAt) {
			status = StatusExpired
		} else if pi.Status == dojo.StatusCreated || !pi.Status.Valid() {
			continue
		}
		ch, err := recordWithImplied(ctx, r.store, id, status, "reconcile", "reconcile")
		if err != nil {
			r.log.Warn().Err(err).Str("intent", id).Msg("reconciliation: could not record")
			continue
		}
		if ch.Recorded {
			changes++
			r.log.Info().Str("intent", id).Str("status", status).Bool("queued", ch.Queued).Msg("reconciliation found a status change")
		}
	}
	r.log.Debug().Int("checked", len(ids)).Int("changes", changes).Dur("took", r.now().Sub(start)).Msg("reconciliation run")
	return changes
}
