package payments

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"

	"github.com/paylink/paylink/bot/edge"
	"github.com/paylink/paylink/bot/metrics"
	"github.com/paylink/paylink/bot/slackout"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/store"
)

// webhookBodyLimit caps a Dojo webhook body; events are well under 1 KiB.
const webhookBodyLimit = 1 << 20

// maxIntentAge is how old an intent may be and still be reported: Dojo voids unpaid
// intents after 30 days. An older event is a replay and is ignored.
const maxIntentAge = 31 * 24 * time.Hour

// StatusRecorder records a status change once and queues its notice. *store.Store
// satisfies it.
type StatusRecorder interface {
	RecordStatus(ctx context.Context, e store.StatusEvent) (store.StatusChange, error)
}

// Deps are the parts the payments side is built from.
type Deps struct {
	Log         zerolog.Logger
	Store       *store.Store
	Dojo        Intents
	Chat        *slackout.Chat   // posts the notices; the notifier needs it
	CheckoutURL string           // the link is CheckoutURL + intent id
	TestMode    bool             // a sandbox Dojo key: every message says TEST MODE
	Clock       clockwork.Clock  // nil: the real clock
	Metrics     *metrics.Metrics // nil: none
	// WebhookSecrets verify Dojo's webhooks; several may be active while one is rotated.
	// None: the handler answers 503 and reconciliation alone reports payments.
	WebhookSecrets []string
	Notify         NotifyConfig
	Reconcile      ReconcileConfig
	Due            DueConfig
	// Consumer begins the names of this process's consumers in the notification
	// group (its host and pid, say); a random suffix makes each start's names new.
	// Empty: "paylink".
	Consumer string
	// Posted, when set, is told of each link a notice was posted for (the link as it
	// was read, before the notice): its agent's Home tab is published again.
	Posted func(ctx context.Context, l *store.Link)
}

// clock is d.Clock, or the real clock when none is given.
func (d Deps) clock() clockwork.Clock {
	if d.Clock == nil {
		return clockwork.NewRealClock()
	}
	return d.Clock
}

// NewWebhookHandler returns the handler of POST /dojo/webhooks.
func NewWebhookHandler(d Deps) http.Handler {
	return &webhooks{
		secrets: d.WebhookSecrets,
		store:   d.Store,
		adopt:   &adopter{store: d.Store, links: d.Dojo, testMode: d.TestMode, now: d.clock().Now},
		m:       d.Metrics,
	}
}

// WebhookOutcomeHeader, on a 200 from /dojo/webhooks, says what paylink did with the
// event: queued (a notice will follow, once Dojo confirms the status), recorded,
// duplicate (seen before), ignored (not a status update paylink can use) or not_ours.
const WebhookOutcomeHeader = "Paylink-Webhook-Outcome"

// webhooks serves POST /dojo/webhooks.
type webhooks struct {
	secrets []string
	store   StatusRecorder
	adopt   *adopter
	m       *metrics.Metrics
}

// ServeHTTP verifies the signature on the raw body before anything else, records the
// status change once and queues its notice in one atomic step, and answers 2xx only
// when that is safely in Redis: 503 otherwise, so Dojo delivers it again.
func (h *webhooks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := zerolog.Ctx(r.Context())
	if len(h.secrets) == 0 {
		h.m.Webhook("unconfigured")
		log.Error().Msg("webhook refused: DOJO_WEBHOOK_SECRET is not set")
		http.Error(w, "webhooks are not configured", http.StatusServiceUnavailable)
		return
	}
	body, err := edge.ReadBody(w, r, webhookBodyLimit)
	switch {
	case errors.Is(err, edge.ErrTooLarge):
		h.m.Webhook("too_large")
		log.Warn().Msg("webhook body too large")
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		return
	case err != nil:
		http.Error(w, "could not read the request body", http.StatusBadRequest)
		return
	}
	if err := dojo.VerifySignature(r.Header.Get(dojo.SignatureHeader), body, h.secrets); err != nil {
		h.m.Webhook("unauthorized")
		log.Warn().Msg("webhook rejected: bad signature")
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			h.m.Webhook("malformed")
			log.Warn().Str("content_type", edge.Truncate(ct, 80)).Msg("webhook rejected: not JSON")
			http.Error(w, "expected application/json", http.StatusBadRequest)
			return
		}
	}
	ev, err := dojo.DecodeEvent(body)
	if err != nil {
		h.m.Webhook("malformed")
		log.Warn().Err(err).Msg("webhook rejected: malformed event")
		http.Error(w, "malformed event", http.StatusBadRequest)
		return
	}
	elog := log.With().Str("event_id", edge.Truncate(ev.ID, 80)).Str("event", edge.Truncate(ev.Event, 80)).
		Str("intent", edge.Truncate(ev.Data.PaymentIntentID, 100)).Str("status", edge.Truncate(string(ev.Data.PaymentStatus), 40)).Logger()
	if ev.Event != dojo.EventStatusUpdated {
		h.m.Webhook("ignored")
		elog.Debug().Str("outcome", "ignored").Msg("webhook: event not acted on")
		w.Header().Set(WebhookOutcomeHeader, "ignored")
		w.WriteHeader(http.StatusOK)
		return
	}
	if !dojo.ValidIntentID(ev.Data.PaymentIntentID) || !ev.Data.PaymentStatus.Valid() {
		h.m.Webhook("ignored")
		elog.Warn().Str("outcome", "ignored").Msg("webhook: unusable intent id or status")
		w.Header().Set(WebhookOutcomeHeader, "ignored")
		w.WriteHeader(http.StatusOK)
		return
	}
	ctx := r.Context()
	origin, ours, err := h.adopt.known(ctx, elog, ev.Data.PaymentIntentID)
	if err != nil {
		h.m.Webhook("unavailable")
		elog.Error().Err(err).Str("outcome", "unavailable").Msg("webhook: could not look the intent up")
		http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
		return
	}
	if !ours {
		h.m.Webhook("not_ours")
		elog.Debug().Str("outcome", "not_ours").Msg("webhook: intent paylink did not create")
		w.Header().Set(WebhookOutcomeHeader, "not_ours")
		w.WriteHeader(http.StatusOK)
		return
	}
	change, err := Record(ctx, h.store, store.StatusEvent{IntentID: ev.Data.PaymentIntentID,
		Status: string(ev.Data.PaymentStatus), EventID: ev.ID, Source: "webhook", Origin: origin})
	if err != nil {
		h.m.Webhook("unavailable")
		elog.Error().Err(err).Str("outcome", "unavailable").Msg("webhook: could not record")
		http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
		return
	}
	outcome := "duplicate"
	if change.Queued {
		outcome = "queued"
	} else if change.Recorded {
		outcome = "recorded"
	}
	h.m.Webhook(outcome)
	elog.Info().Str("outcome", outcome).Str("current", change.Current).Msg("webhook")
	w.Header().Set(WebhookOutcomeHeader, outcome)
	w.WriteHeader(http.StatusOK)
}

// Record records status, and first the Captured that a Refunded or Reversed
// implies (a payment must have been taken to be refunded), so a missed "Paid" is still
// reported. It returns the change for status itself.
func Record(ctx context.Context, st StatusRecorder, e store.StatusEvent) (store.StatusChange, error) {
	if e.Status == string(dojo.StatusRefunded) || e.Status == string(dojo.StatusReversed) {
		captured := e
		captured.Status, captured.EventID = string(dojo.StatusCaptured), e.EventID+":implied"
		if _, err := st.RecordStatus(ctx, captured); err != nil {
			return store.StatusChange{}, err
		}
	}
	return st.RecordStatus(ctx, e)
}

// adoptStore reads where a link was asked for and rebuilds a lost record. *store.Store
// satisfies it.
type adoptStore interface {
	LinkOrigin(ctx context.Context, intentID string) (store.Origin, bool, error)
	SaveLink(ctx context.Context, l store.Link, c *store.Claim, window time.Duration) error
}

// Intents reads payment intents at Dojo. *dojo.Client satisfies it.
type Intents interface {
	PaymentIntent(ctx context.Context, id string) (*dojo.PaymentIntent, error)
}

// adopter finds out whether an intent is paylink's: it has a record, or Dojo's copy
// carries the Slack ids paylink puts in metadata (then the record is rebuilt from it,
// for a record Redis lost).
type adopter struct {
	store    adoptStore
	links    Intents
	testMode bool
	now      func() time.Time
}

// known reports whether intentID is paylink's and, if so, where it was asked for.
func (a *adopter) known(ctx context.Context, log zerolog.Logger, intentID string) (store.Origin, bool, error) {
	origin, ok, err := a.store.LinkOrigin(ctx, intentID)
	if err != nil || ok {
		return origin, ok, err
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	pi, err := a.links.PaymentIntent(cctx, intentID)
	if dojo.IsNotFound(err) {
		return store.Origin{}, false, nil
	}
	if err != nil {
		return store.Origin{}, false, err
	}
	team, channel, user := pi.Metadata[MetaTeam], pi.Metadata[MetaChannel], pi.Metadata[MetaUser]
	if channel == "" || user == "" {
		return store.Origin{}, false, nil
	}
	if !pi.CreatedAt.IsZero() && a.now().Sub(pi.CreatedAt) > maxIntentAge {
		log.Warn().Time("created", pi.CreatedAt).Msg("webhook for an intent older than 31 days: ignored")
		return store.Origin{}, false, nil
	}
	created := pi.CreatedAt
	if created.IsZero() {
		created = a.now()
	}
	link := store.Link{
		IntentID:  pi.ID,
		TeamID:    team,
		ChannelID: channel,
		UserID:    user,
		Amount:    pi.Amount.Value,
		Currency:  pi.Amount.CurrencyCode,
		Reference: pi.Reference,
		Status:    string(dojo.StatusCreated),
		CreatedAt: created.UTC(),
		TestMode:  a.testMode,
	}
	if pi.ID != intentID {
		link.IntentID = intentID
	}
	if err := a.store.SaveLink(ctx, link, nil, 0); err != nil {
		return store.Origin{}, false, err
	}
	log.Info().Str("channel", channel).Msg("link record rebuilt from the intent's metadata")
	return store.Origin{Team: team, Reference: link.Reference, User: user, Currency: link.Currency, Amount: link.Amount}, true, nil
}

// Metadata keys on every payment intent paylink creates.
const (
	MetaTeam    = "slackTeamId"
	MetaChannel = "slackChannelId"
	MetaUser    = "slackUserId"
	// MetaNonce is unique per create call: it finds an intent whose answer was lost.
	MetaNonce = "paylinkNonce"
)

// Expired reports whether an unpaid intent is past its expiry.
func Expired(rec *store.Link, pi *dojo.PaymentIntent, now time.Time) bool {
	at := rec.ExpiresAt
	if pi != nil && pi.ExpireAt != nil && !pi.ExpireAt.IsZero() {
		at = *pi.ExpireAt
	}
	return !at.IsZero() && at.Unix() > 0 && now.After(at)
}
