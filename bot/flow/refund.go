package flow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/paylink/paylink/bot/payments"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/store"
)

// refunder gives money back at Dojo. *dojo.Client satisfies it.
type refunder interface {
	RefundPaymentIntent(ctx context.Context, id, idempotencyKey string, req dojo.RefundRequest) (*dojo.Refund, error)
	ReversePaymentIntent(ctx context.Context, id string) (*dojo.Reversal, error)
}

// refundStore keeps what each link has refunded. *store.Store satisfies it.
type refundStore interface {
	ReserveRefund(ctx context.Context, intentID string, r store.Refund) (store.Reservation, error)
	RetakeRefund(ctx context.Context, intentID string, prev, next store.Refund) (bool, error)
	CompleteRefund(ctx context.Context, intentID string, r store.Refund, status string) (bool, error)
	ReleaseRefund(ctx context.Context, intentID string, r store.Refund) error
	NoteDojoRefunded(ctx context.Context, intentID string, amount int64) error
}

// RefundReasonMax is the longest reason Dojo takes (refundReason).
const RefundReasonMax = 1024

// RefundOutcome is how a refund, or the form that asks for one, ended.
type RefundOutcome int

const (
	RefundReady       RefundOutcome = iota // the form may open: Left, Reversible
	Refunded                               // refunded at Dojo and recorded
	Reversed                               // reversed at Dojo and recorded
	RefundNotAllowed                       // the user is neither a refunder nor an admin
	RefundNotPaid                          // the link was not paid (Status says where it stands)
	RefundNothingLeft                      // everything was refunded or reversed already
	RefundTooMuch                          // more than Left was asked for
	RefundDuplicate                        // the same submission again: Refund is the one made
	RefundUnderWay                         // the same submission is being refunded right now
	RefundRefused                          // Dojo refused: Reason; nothing changed
	RefundFailed                           // Dojo or Redis failed: Err; Held says whether it is kept for a retry
)

// RefundRequest asks for money back.
type RefundRequest struct {
	From   Origin
	Intent string
	Amount int64  // minor units
	Reason string // sent to Dojo as refundReason; may be empty
	// Reverse asks for a reversal (the whole amount, on the day of the payment)
	// instead of a refund.
	Reverse bool
	// Key identifies the submission: the same key refunds once, however often it is
	// submitted (it is Dojo's idempotencyKey). See RefundKey.
	Key string
}

// RefundKey derives a refund's idempotency key from what identifies its submission:
// the workspace, the Slack view it was submitted from, the intent, the kind and the
// amount. The same form submitted twice gives the same key; another form, or another
// amount, another key. 64 hex characters, within Dojo's 100.
func RefundKey(team, view, intent string, amount int64, reverse bool) string {
	h := sha256.Sum256([]byte(strings.Join([]string{team, view, intent, strconv.FormatInt(amount, 10), strconv.FormatBool(reverse)}, "\x00")))
	return hex.EncodeToString(h[:])
}

// RefundResult is how a refund ended, with what the answer needs.
type RefundResult struct {
	Outcome RefundOutcome
	Link    *store.Link // as it stands after
	// Left is what may still be refunded; Reversible, whether a reversal is offered.
	Left       int64
	Reversible bool
	// Refund is the refund made (Refunded, Reversed, RefundDuplicate).
	Refund store.Refund
	// Settled lists earlier refunds whose answer had been lost and that are now
	// found done at Dojo: each is announced as if it had just been made.
	Settled []store.Refund
	Reason  string // RefundRefused: Dojo's words
	Err     error  // RefundFailed
	// Held is true when Dojo's answer was lost: the amount stays reserved and the
	// refund is tried again, with its key, by the next refund of the link.
	Held bool
}

// refundStale is how long a refund may be under way before another attempt may take
// it over: longer than Dojo's answer can take with its retries.
const refundStale = 2 * time.Minute

// PlanRefund is the form's first step: whether user may refund rec, whether it was
// paid, what is left to refund and whether a reversal may be offered instead. It asks
// Dojo where the payment stands. A refusal is audited.
func (s *Service) PlanRefund(ctx context.Context, log zerolog.Logger, rec *store.Link, user string) RefundResult {
	if res, ok := s.refundAllowed(ctx, log, rec, user, 0); !ok {
		return res
	}
	pi, err := s.reader.PaymentIntent(ctx, rec.IntentID)
	if err != nil {
		log.Warn().Err(err).Str("intent", rec.IntentID).Msg("refund: Dojo")
		return RefundResult{Outcome: RefundFailed, Link: rec, Err: err}
	}
	res := RefundResult{Link: rec}
	if res.Settled = s.settleStale(ctx, log, rec); len(res.Settled) > 0 {
		if pi, err = s.reader.PaymentIntent(ctx, rec.IntentID); err != nil {
			return RefundResult{Outcome: RefundFailed, Link: rec, Err: err, Settled: res.Settled}
		}
	}
	if r, ok := s.refundable(ctx, log, rec, pi); !ok {
		r.Settled = res.Settled
		return r
	}
	if fresh, err := s.records.Link(ctx, rec.IntentID); err == nil {
		res.Link = fresh
	}
	res.Left = res.Link.RefundLeft()
	res.Reversible = s.reversible(res.Link, pi)
	if res.Left == 0 {
		res.Outcome = RefundNothingLeft
	}
	return res
}

// Refund refunds (or reverses) what req asks of a paid link, once per req.Key: it
// reserves the amount in Redis if that much is left, asks Dojo, then records the
// refund, its status and an audit event ("refunded", "reversed"). Dojo refusing gives
// the amount back; Dojo not answering keeps it reserved, and the next refund of the
// link asks Dojo again with the same key. The card and the thread are the caller's.
func (s *Service) Refund(ctx context.Context, log zerolog.Logger, req RefundRequest) RefundResult {
	log = log.With().Str("intent", req.Intent).Logger()
	rec, err := s.Link(ctx, req.From.Team, req.Intent)
	if err != nil {
		return RefundResult{Outcome: RefundFailed, Err: err}
	}
	if res, ok := s.refundAllowed(ctx, log, rec, req.From.User, req.Amount); !ok {
		return res
	}
	if !paid(rec.Status) {
		// The record may not know yet: Dojo says.
		pi, err := s.reader.PaymentIntent(ctx, rec.IntentID)
		if err != nil {
			return RefundResult{Outcome: RefundFailed, Link: rec, Err: err}
		}
		if res, ok := s.refundable(ctx, log, rec, pi); !ok {
			return res
		}
	}
	settled := s.settleStale(ctx, log, rec)
	kind := store.KindRefund
	if req.Reverse {
		kind = store.KindReversal
	}
	r := store.Refund{Key: req.Key, Kind: kind, Amount: req.Amount, User: req.From.User, At: s.now(), Reason: req.Reason}
	res := s.refund(ctx, log, rec, r)
	res.Settled = append(settled, res.Settled...)
	return res
}

// refund reserves r, asks Dojo and records what it did.
func (s *Service) refund(ctx context.Context, log zerolog.Logger, rec *store.Link, r store.Refund) RefundResult {
	rsv, err := s.refunds.ReserveRefund(ctx, rec.IntentID, r)
	if err != nil {
		log.Error().Err(err).Msg("refund: reserve")
		return RefundResult{Outcome: RefundFailed, Link: rec, Err: err}
	}
	switch {
	case rsv.Existing != nil && rsv.Existing.Done:
		log.Info().Str("outcome", "duplicate").Msg("refund")
		return s.refundResult(ctx, rec, RefundResult{Outcome: RefundDuplicate, Refund: *rsv.Existing})
	case rsv.Existing != nil:
		if s.now().Sub(rsv.Existing.At) < refundStale {
			log.Info().Str("outcome", "under_way").Msg("refund")
			return s.refundResult(ctx, rec, RefundResult{Outcome: RefundUnderWay, Refund: *rsv.Existing})
		}
		next := *rsv.Existing
		next.At = s.now()
		if ok, err := s.refunds.RetakeRefund(ctx, rec.IntentID, *rsv.Existing, next); err != nil || !ok {
			return s.refundResult(ctx, rec, RefundResult{Outcome: RefundUnderWay, Refund: *rsv.Existing})
		}
		r = next
	case !rsv.Reserved && rsv.Left == 0:
		return s.refundResult(ctx, rec, RefundResult{Outcome: RefundNothingLeft})
	case !rsv.Reserved:
		log.Info().Str("outcome", "too_much").Int64("amount", r.Amount).Int64("left", rsv.Left).Msg("refund")
		return s.refundResult(ctx, rec, RefundResult{Outcome: RefundTooMuch, Refund: r})
	}
	return s.attempt(ctx, log, rec, r)
}

// attempt asks Dojo for the held refund r and settles it by Dojo's answer.
func (s *Service) attempt(ctx context.Context, log zerolog.Logger, rec *store.Link, r store.Refund) RefundResult {
	var err error
	if r.Kind == store.KindReversal {
		var rv *dojo.Reversal
		if rv, err = s.refunder.ReversePaymentIntent(ctx, rec.IntentID); err == nil {
			r.DojoID = rv.ReversalID
		}
	} else {
		var rf *dojo.Refund
		if rf, err = s.refunder.RefundPaymentIntent(ctx, rec.IntentID, r.Key, dojo.RefundRequest{Amount: r.Amount, RefundReason: r.Reason}); err == nil {
			r.DojoID = rf.RefundID
		}
	}
	s.Forget(rec.IntentID)
	if reason, ok := cancelRefusal(err); ok {
		log.Info().Err(err).Str("outcome", "refused").Msg("refund: Dojo refused")
		if rerr := s.refunds.ReleaseRefund(ctx, rec.IntentID, r); rerr != nil {
			log.Error().Err(rerr).Msg("refund: give back the reservation")
		}
		return s.refundResult(ctx, rec, RefundResult{Outcome: RefundRefused, Refund: r, Reason: reason})
	}
	if err != nil {
		log.Warn().Err(err).Msg("refund: Dojo did not answer; kept for a retry")
		return s.refundResult(ctx, rec, RefundResult{Outcome: RefundFailed, Refund: r, Err: err, Held: true})
	}
	return s.complete(ctx, log, rec, r)
}

// complete records a refund Dojo made: its amount, the link's status (its notice
// queued once, and left to the caller's thread reply), the audit event.
func (s *Service) complete(ctx context.Context, log zerolog.Logger, rec *store.Link, r store.Refund) RefundResult {
	status, event, outcome := dojo.StatusRefunded, "refunded", Refunded
	if r.Kind == store.KindReversal {
		status, event, outcome = dojo.StatusReversed, "reversed", Reversed
	}
	if _, err := s.refunds.CompleteRefund(ctx, rec.IntentID, r, string(status)); err != nil {
		log.Error().Err(err).Msg("refund: record")
	}
	if _, err := payments.Record(ctx, s.status, store.StatusEvent{IntentID: rec.IntentID, Status: string(status),
		EventID: "refund:" + r.Key, Source: "slack", Origin: origin(rec)}); err != nil {
		log.Error().Err(err).Msg("refund: record status")
	}
	s.audit(ctx, log, store.AuditEvent{Event: event, Team: rec.TeamID, Channel: rec.ChannelID, User: r.User,
		Amount: r.Amount, Currency: rec.Currency, Reference: rec.Reference, Intent: rec.IntentID, Detail: r.Reason})
	log.Info().Str("outcome", event).Int64("amount", r.Amount).Str("by", r.User).Msg("refund")
	r.Done = true
	return s.refundResult(ctx, rec, RefundResult{Outcome: outcome, Refund: r})
}

// settleStale asks Dojo again about the refunds of rec whose answer was lost (held
// longer than refundStale), with their own keys, and returns those now done.
func (s *Service) settleStale(ctx context.Context, log zerolog.Logger, rec *store.Link) []store.Refund {
	if fresh, err := s.records.Link(ctx, rec.IntentID); err == nil {
		rec = fresh
	}
	var done []store.Refund
	for _, e := range rec.Refunds.Entries {
		if e.Done || s.now().Sub(e.At) < refundStale {
			continue
		}
		next := e
		next.At = s.now()
		if ok, err := s.refunds.RetakeRefund(ctx, rec.IntentID, e, next); err != nil || !ok {
			continue
		}
		if next.Kind == store.KindReversal {
			// A reversal has no key: Dojo's status says whether it was made.
			pi, err := s.reader.PaymentIntent(ctx, rec.IntentID)
			switch {
			case err != nil:
				continue
			case pi.Status == dojo.StatusReversed:
				if res := s.complete(ctx, log, rec, next); res.Outcome == Reversed {
					done = append(done, res.Refund)
				}
				continue
			case pi.Status == dojo.StatusCaptured:
				// Not made: try it again now, as asked.
			default:
				s.refunds.ReleaseRefund(ctx, rec.IntentID, next)
				continue
			}
		}
		if res := s.attempt(ctx, log, rec, next); res.Outcome == Refunded || res.Outcome == Reversed {
			done = append(done, res.Refund)
		}
	}
	return done
}

// refundAllowed refuses, and audits, a refund by someone who may not.
func (s *Service) refundAllowed(ctx context.Context, log zerolog.Logger, rec *store.Link, user string, amount int64) (RefundResult, bool) {
	if s.cfg.Policy.MayRefund(user) {
		return RefundResult{}, true
	}
	log.Info().Str("outcome", "refused").Str("intent", rec.IntentID).Msg("refund")
	s.audit(ctx, log, store.AuditEvent{Event: "refused", Team: rec.TeamID, Channel: rec.ChannelID, User: user,
		Amount: amount, Currency: rec.Currency, Reference: rec.Reference, Intent: rec.IntentID, Detail: "refund by someone who may not"})
	return RefundResult{Outcome: RefundNotAllowed, Link: rec}, false
}

// refundable checks Dojo's answer: a payment that was not taken can't be refunded.
// It records where the link stands, and what Dojo reports refunded.
func (s *Service) refundable(ctx context.Context, log zerolog.Logger, rec *store.Link, pi *dojo.PaymentIntent) (RefundResult, bool) {
	if pi.RefundedAmount > 0 {
		if err := s.refunds.NoteDojoRefunded(ctx, rec.IntentID, pi.RefundedAmount); err != nil {
			log.Warn().Err(err).Msg("refund: note Dojo's refunded amount")
		}
	}
	switch pi.Status {
	case dojo.StatusCaptured, dojo.StatusRefunded:
		if !paid(rec.Status) {
			// Paid, and the card does not know yet: its notice follows.
			if _, err := payments.Record(ctx, s.status, store.StatusEvent{IntentID: rec.IntentID, Status: string(pi.Status),
				EventID: "refund-check", Source: "refresh", Origin: origin(rec)}); err != nil {
				log.Warn().Err(err).Msg("refund: record status")
			}
		}
		return RefundResult{}, true
	case dojo.StatusReversed:
		return s.refundResult(ctx, rec, RefundResult{Outcome: RefundNothingLeft}), false
	}
	shown := *rec
	shown.Status = string(pi.Status)
	if pi.Status == dojo.StatusCreated && payments.Expired(rec, pi, s.now()) {
		shown.Status = store.StatusExpired
	}
	return RefundResult{Outcome: RefundNotPaid, Link: &shown}, false
}

// paid reports whether a link in status was paid and not reversed.
func paid(status string) bool {
	return status == string(dojo.StatusCaptured) || status == string(dojo.StatusRefunded)
}

// reversible reports whether Dojo may reverse rec instead of refunding it: captured,
// nothing refunded or held, and paid today (the calendar day in the UK, where Dojo
// settles). When the payment's time is not known, a link created today was paid
// today.
func (s *Service) reversible(rec *store.Link, pi *dojo.PaymentIntent) bool {
	if pi.Status != dojo.StatusCaptured || pi.RefundedAmount > 0 || rec.Refunds.Total() > 0 || rec.Refunds.Held > 0 {
		return false
	}
	paidAt := rec.CreatedAt
	if rec.Status == string(dojo.StatusCaptured) && !rec.StatusAt.IsZero() {
		paidAt = rec.StatusAt
	}
	return sameDay(paidAt, s.now(), s.zone())
}

// zone is where calendar days are counted.
func (s *Service) zone() *time.Location {
	if s.cfg.Zone != nil {
		return s.cfg.Zone
	}
	return time.UTC
}

func sameDay(a, b time.Time, loc *time.Location) bool {
	ay, am, ad := a.In(loc).Date()
	by, bm, bd := b.In(loc).Date()
	return ay == by && am == bm && ad == bd
}

// refundResult fills in how the link stands after: its record read again, what is
// left, and whether a reversal may still be offered.
func (s *Service) refundResult(ctx context.Context, rec *store.Link, res RefundResult) RefundResult {
	res.Link = rec
	if fresh, err := s.records.Link(ctx, rec.IntentID); err == nil {
		res.Link = fresh
	}
	res.Left = res.Link.RefundLeft()
	return res
}
