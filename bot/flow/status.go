package flow

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/rs/zerolog"

	"github.com/paylink/paylink/bot/payments"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/store"
)

// recorder records a link's status changes (their notices follow).
type recorder = payments.StatusRecorder

// Status is where a link stands.
type Status struct {
	// Link is the link's record, its status as Dojo gave it.
	Link *store.Link
	// Stale is true when Dojo did not answer: Link's status is the last paylink knew.
	Stale bool
}

// Refresh asks Dojo where a link stands (an answer at most a few seconds old), and
// records any change: its card and thread follow through the notifier.
func (s *Service) Refresh(ctx context.Context, log zerolog.Logger, rec *store.Link) Status {
	pi, err := s.currentIntent(ctx, rec.IntentID)
	if err != nil {
		log.Warn().Err(err).Str("intent", rec.IntentID).Msg("status: Dojo")
		return Status{Link: rec, Stale: true}
	}
	status := string(pi.Status)
	if pi.Status == dojo.StatusCreated && payments.Expired(rec, pi, s.now()) {
		status = store.StatusExpired
	}
	if status != string(dojo.StatusCreated) && pi.Status.Valid() || status == store.StatusExpired {
		if _, err := payments.Record(ctx, s.status, store.StatusEvent{IntentID: rec.IntentID, Status: status,
			EventID: "refresh", Source: "refresh", Origin: origin(rec)}); err != nil {
			log.Warn().Err(err).Msg("status: record")
		}
		if status != rec.Status {
			rec.Status, rec.StatusAt = status, s.now()
		}
	}
	return Status{Link: rec}
}

// origin is where rec was asked for.
func origin(rec *store.Link) store.Origin {
	return store.Origin{Team: rec.TeamID, Reference: rec.Reference, User: rec.UserID, Currency: rec.Currency, Amount: rec.Amount}
}

// CancelOutcome is how a cancel ended.
type CancelOutcome int

const (
	Canceled         CancelOutcome = iota // canceled at Dojo and recorded
	CancelNotAllowed                      // the user neither asked for the link nor is an admin
	AlreadyClosed                         // the link was paid, canceled or expired already
	CancelRefused                         // Dojo keeps the link as it is: Reason, and Status from Dojo
	CancelFailed                          // Dojo did not answer: Err
)

// Cancellation is how a cancel ended, with what the answer needs.
type Cancellation struct {
	Outcome CancelOutcome
	Link    *store.Link
	// Reason is why Dojo refused (CancelRefused); Status is where the link stands then.
	Reason string
	Status Status
	Err    error
}

// Cancel cancels rec at Dojo for user, and records it: the card and the thread follow
// through the notifier. Only the agent who asked for the link, or an admin, may.
func (s *Service) Cancel(ctx context.Context, log zerolog.Logger, rec *store.Link, user string) Cancellation {
	if !s.cfg.Policy.MayCancel(rec, user) {
		log.Info().Str("outcome", "refused").Str("intent", rec.IntentID).Msg("cancel")
		s.audit(ctx, log, store.AuditEvent{Event: "refused", Team: rec.TeamID, Channel: rec.ChannelID, User: user,
			Amount: rec.Amount, Currency: rec.Currency, Reference: rec.Reference, Intent: rec.IntentID, Detail: "cancel by someone who may not"})
		return Cancellation{Outcome: CancelNotAllowed, Link: rec}
	}
	if store.Closed(rec.Status) {
		return Cancellation{Outcome: AlreadyClosed, Link: rec}
	}
	_, err := s.maker.CancelPaymentIntent(ctx, rec.IntentID)
	s.Forget(rec.IntentID)
	if reason, ok := cancelRefusal(err); ok {
		// Dojo keeps the link as it is: record where it stands, so the card follows.
		log.Info().Err(err).Str("intent", rec.IntentID).Msg("cancel: Dojo refused")
		return Cancellation{Outcome: CancelRefused, Link: rec, Reason: reason, Status: s.Refresh(ctx, log, rec)}
	}
	if err != nil {
		log.Warn().Err(err).Str("intent", rec.IntentID).Msg("cancel: Dojo")
		return Cancellation{Outcome: CancelFailed, Link: rec, Err: err}
	}
	if _, err := s.status.RecordStatus(ctx, store.StatusEvent{IntentID: rec.IntentID, Status: string(dojo.StatusCanceled),
		EventID: "cancel:" + user, Source: "slack", Origin: origin(rec)}); err != nil {
		log.Error().Err(err).Msg("cancel: record")
	}
	s.audit(ctx, log, store.AuditEvent{Event: "canceled", Team: rec.TeamID, Channel: rec.ChannelID, User: user,
		Amount: rec.Amount, Currency: rec.Currency, Reference: rec.Reference, Intent: rec.IntentID})
	log.Info().Str("outcome", "canceled").Str("intent", rec.IntentID).Str("by", user).Msg("cancel")
	return Cancellation{Outcome: Canceled, Link: rec}
}

// cancelRefusal reports whether err is Dojo refusing a cancel, and its reason. Dojo's
// cancel answers 400 for an intent that can't be canceled (404 for one it does not
// know, 409 from older versions); its detail says why.
func cancelRefusal(err error) (string, bool) {
	var de *dojo.Error
	if !errors.As(err, &de) {
		return "", false
	}
	switch de.StatusCode {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusConflict:
	default:
		return "", false
	}
	reason := de.Detail
	if reason == "" {
		reason = strings.Join(de.FieldErrors(), "; ")
	}
	if reason == "" {
		reason = de.Title
	}
	if reason == "" {
		reason = http.StatusText(de.StatusCode)
	}
	return reason, true
}
