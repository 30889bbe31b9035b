package flow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/paylink/paylink/bot/audit"
	"github.com/paylink/paylink/bot/payments"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/dojo/safetext"
	"github.com/paylink/paylink/store"
)

// intentMaker creates payment intents at Dojo, finds one whose answer was lost, and
// cancels one paylink could not record.
type intentMaker interface {
	CreatePaymentIntent(ctx context.Context, req dojo.CreateRequest) (*dojo.PaymentIntent, error)
	SearchPaymentIntents(ctx context.Context, req dojo.SearchRequest) (*dojo.SearchResult, error)
	CancelPaymentIntent(ctx context.Context, id string) (*dojo.PaymentIntent, error)
}

// claims takes a command's claim, and records the link it made.
type claims interface {
	ClaimCommand(ctx context.Context, req store.ClaimRequest) (store.Claim, error)
	ReleaseCommand(ctx context.Context, c store.Claim) error
	SaveLink(ctx context.Context, l store.Link, c *store.Claim, window time.Duration) error
	LinkPosted(ctx context.Context, intentID, channel, ts string, created store.AuditEvent) error
}

// auditor keeps the audit trail.
type auditor = audit.Store

// CreateRequest asks for a new link.
type CreateRequest struct {
	From  Origin
	Order Order
	// RequestID identifies the request: it holds the command's claim.
	RequestID string
	// Signature is the request's signature: a request seen before is refused, in the
	// same step as the claim. Empty when the transport authenticates otherwise.
	Signature string
	// Anyway skips the duplicate-reference guard: the agent chose "Create another
	// anyway".
	Anyway bool
	// Key, when set, identifies "the same request" instead of the order: a button
	// pressed twice makes one link.
	Key string
}

// fingerprint identifies "the same command" for the re-type guard: same workspace,
// user, amount, currency and reference (or the same key).
func (r CreateRequest) fingerprint() string {
	parts := []string{r.From.Team, r.From.User, strconv.FormatInt(r.Order.Amount.Value, 10), r.Order.Amount.CurrencyCode, r.Order.Reference}
	if r.Key != "" {
		parts = []string{r.From.Team, r.From.User, r.Key}
	}
	h := sha256.New()
	for _, part := range parts {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Outcome is how a request to create a link ended.
type Outcome int

const (
	Created       Outcome = iota // the link is made and recorded: Result.Link
	Replayed                     // the request's signature was seen before
	RateLimited                  // the user made as many links as the rate limit allows
	BeingCreated                 // another command is creating a link for the reference now
	StillOpen                    // links for the reference can still be paid: Result.Open
	Repeat                       // the same command made Result.IntentID a moment ago
	RepeatPending                // the same command is making its link right now
	DojoFailed                   // Dojo made no link: Result.Err
	StoreFailed                  // Redis could not take the claim: nothing was done
	RecordFailed                 // Redis could not record the link: it was cancelled at Dojo
)

var outcomeNames = [...]string{"created", "replayed", "rate_limited", "being_created", "still_open",
	"repeat", "repeat_pending", "dojo_error", "store_error", "record_error"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// Result is how a request to create a link ended, with what the answer needs.
type Result struct {
	Outcome Outcome
	// Link is the new link (Created).
	Link *store.Link
	// IntentID is the link the same command made before (Repeat).
	IntentID string
	// Open are the reference's links that can still be paid, newest first, at most
	// three (StillOpen).
	Open []OpenLink
	// RateLimit, RateWindow and RetryAfter say how the rate limit was met (RateLimited).
	RateLimit  int
	RateWindow time.Duration
	RetryAfter time.Duration
	// Err is why Dojo made no link (DojoFailed), or the store's error.
	Err error
}

// maxOpenShown is how many still-open links an answer lists.
const maxOpenShown = 3

// Create makes a link: it claims the request (replay, re-type, rate limit and
// duplicate-reference checks in one step), creates the intent at Dojo and records
// it. Nothing is stored and no intent is left at Dojo when a step fails. Today's
// policy (Admit) is the caller's to ask first.
func (s *Service) Create(ctx context.Context, log zerolog.Logger, req CreateRequest) Result {
	rate := s.cfg.Policy
	claim, err := s.claims.ClaimCommand(ctx, store.ClaimRequest{
		Fingerprint: req.fingerprint(),
		Token:       req.RequestID,
		PendingTTL:  s.cfg.WorkTimeout + time.Minute,
		Signature:   req.Signature,
		Dup:         store.DupCheck{Team: req.From.Team, Reference: req.Order.Reference, Skip: req.Anyway},
		Rate:        store.RateCheck{Team: req.From.Team, User: req.From.User, Limit: rate.RateLimit, Window: rate.RateWindow},
	})
	switch {
	case err != nil:
		log.Error().Err(err).Str("outcome", "store_error").Msg("slash command: claim")
		return Result{Outcome: StoreFailed, Err: err}
	case claim.Replayed:
		log.Warn().Str("outcome", "replayed").Msg("slash command: signature seen before")
		return Result{Outcome: Replayed}
	case claim.Limited:
		log.Info().Str("outcome", "rate_limited").Msg("slash command")
		o := req.Order
		s.audit(ctx, log, store.AuditEvent{Event: "refused", Team: req.From.Team, Channel: req.From.Channel, User: req.From.User,
			Amount: o.Amount.Value, Currency: o.Amount.CurrencyCode, Reference: o.Reference, Detail: "rate limit"})
		return Result{Outcome: RateLimited, RateLimit: rate.RateLimit, RateWindow: rate.RateWindow, RetryAfter: claim.RetryAfter}
	case claim.Creating:
		log.Info().Str("outcome", "duplicate_reference").Msg("slash command: the reference is being created")
		return Result{Outcome: BeingCreated}
	case len(claim.Open) > 0:
		log.Info().Str("outcome", "duplicate_reference").Strs("open", claim.Open).Msg("slash command")
		return Result{Outcome: StillOpen, Open: s.openLinks(ctx, claim.Open)}
	case !claim.Won && claim.IntentID != "":
		log.Info().Str("outcome", "repeat").Str("intent", claim.IntentID).Msg("slash command")
		return Result{Outcome: Repeat, IntentID: claim.IntentID}
	case !claim.Won:
		log.Info().Str("outcome", "repeat_pending").Msg("slash command")
		return Result{Outcome: RepeatPending}
	}
	return s.make(ctx, log, req, claim)
}

// make creates the intent a won claim asked for, and records it.
func (s *Service) make(ctx context.Context, log zerolog.Logger, req CreateRequest, claim store.Claim) Result {
	release := func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if err := s.claims.ReleaseCommand(rctx, claim); err != nil {
			log.Warn().Err(err).Msg("slash command: release claim")
		}
	}
	start := s.now()
	nonce := s.newID()
	pi, err := s.maker.CreatePaymentIntent(ctx, s.createRequest(req, nonce))
	dojoTook := s.now().Sub(start)
	if err == nil && !dojo.ValidIntentID(pi.ID) {
		err = fmt.Errorf("dojo returned an unusable payment intent id %q", safetext.Truncate(pi.ID, 80, "…"))
	}
	var de *dojo.Error
	if errors.As(err, &de) && de.Timeout {
		// Dojo may have created the intent without its answer reaching us. Find it by the
		// nonce in its metadata rather than leave a link nobody knows about.
		if found := s.findTimedOut(ctx, log, nonce, start); found != nil {
			log.Info().Str("intent", found.ID).Msg("Dojo timed out but had created the intent: found it")
			pi, err = found, nil
		}
	}
	if err != nil {
		release()
		log.Warn().Err(err).Dur("dojo_ms", dojoTook).Str("outcome", "dojo_error").Msg("slash command")
		return Result{Outcome: DojoFailed, Err: err}
	}
	link := s.newLink(req, pi)
	if err := s.claims.SaveLink(ctx, *link, &claim, s.cfg.RetypeWindow); err != nil {
		release()
		log.Error().Err(err).Str("intent", pi.ID).Str("outcome", "store_error").Msg("slash command: save link")
		s.cancelUnrecorded(ctx, log, pi.ID)
		return Result{Outcome: RecordFailed, Err: err}
	}
	log.Info().Str("outcome", "created").Str("intent", pi.ID).Dur("dojo_ms", dojoTook).
		Int64("amount", link.Amount).Str("currency", link.Currency).Msg("slash command")
	return Result{Outcome: Created, Link: link}
}

// newLink is the record of the link pi, made for req.
func (s *Service) newLink(req CreateRequest, pi *dojo.PaymentIntent) *store.Link {
	link := &store.Link{
		IntentID:    pi.ID,
		TeamID:      req.From.Team,
		ChannelID:   req.From.Channel,
		UserID:      req.From.User,
		ResponseURL: req.From.ResponseURL,
		Amount:      req.Order.Amount.Value,
		Currency:    req.Order.Amount.CurrencyCode,
		Reference:   req.Order.Reference,
		Status:      string(dojo.StatusCreated),
		CreatedAt:   s.now().UTC(),
		Description: req.Order.Description,
		TestMode:    s.cfg.TestMode,
		CardPending: true,
	}
	switch {
	case pi.ExpireAt != nil && !pi.ExpireAt.IsZero():
		link.ExpiresAt = pi.ExpireAt.UTC()
	case req.Order.Expires > 0:
		link.ExpiresAt = link.CreatedAt.Add(req.Order.Expires)
	default:
		link.ExpiresAt = link.CreatedAt.Add(DefaultExpiry)
	}
	return link
}

// OpenLink is a link that can still be paid.
type OpenLink struct {
	IntentID string
	Link     *store.Link // nil when its record could not be read
}

// openLinks reads the records of the first still-open links a claim found.
func (s *Service) openLinks(ctx context.Context, ids []string) []OpenLink {
	var out []OpenLink
	for _, id := range ids[:min(len(ids), maxOpenShown)] {
		o := OpenLink{IntentID: id}
		if rec, err := s.records.Link(ctx, id); err == nil {
			o.Link = rec
		}
		out = append(out, o)
	}
	return out
}

// Posted records where the link's card was posted, with the audit event of its
// creation, in one round trip. Without the card's ts the link's notices can't go in
// its thread or update it, so a failure is tried again, postedTries times in all over
// about a second and a half, while ctx allows.
func (s *Service) Posted(ctx context.Context, log zerolog.Logger, link *store.Link, channel, ts string) {
	created := createdEvent(link)
	audit.Log(log, created)
	wait := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := s.claims.LinkPosted(ctx, link.IntentID, channel, ts, created)
		if err == nil {
			if attempt > 1 {
				log.Info().Int("attempts", attempt).Msg("link message ts recorded")
			}
			return
		}
		if errors.Is(err, store.ErrNotFound) || attempt == postedTries || !s.sleep(ctx, wait) {
			log.Error().Err(err).Int("attempts", attempt).Msg("could not record the link message ts")
			return
		}
		wait *= 2
	}
}

// postedTries is how many times Posted tries to record a card's place.
const postedTries = 4

// Unposted records that the link's card could not be posted in the channel, with the
// audit event of its creation, in one round trip.
func (s *Service) Unposted(ctx context.Context, log zerolog.Logger, link *store.Link) {
	s.Posted(ctx, log, link, "", "")
}

func createdEvent(l *store.Link) store.AuditEvent {
	return store.AuditEvent{Event: "created", Team: l.TeamID, Channel: l.ChannelID, User: l.UserID,
		Amount: l.Amount, Currency: l.Currency, Reference: l.Reference, Intent: l.IntentID}
}

// findTimedOut looks at Dojo for the intent a timed-out create may have made, by its
// nonce. It asks a few times, for a few seconds, each time reading the open intents
// created since just before the create, page by page (Dojo's after cursor), up to
// maxSearchPages pages; nil if it is not there.
func (s *Service) findTimedOut(ctx context.Context, log zerolog.Logger, nonce string, start time.Time) *dojo.PaymentIntent {
	since := start.Add(-time.Minute).UTC()
	for attempt := range 3 {
		if attempt > 0 && !s.sleep(ctx, time.Second) {
			return nil
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		pi, err := s.findByNonce(cctx, since, nonce)
		cancel()
		if err != nil {
			log.Warn().Err(err).Msg("could not search Dojo for a timed-out intent")
			continue
		}
		if pi != nil {
			return pi
		}
	}
	return nil
}

// maxSearchPages bounds one look for a timed-out intent: 10 pages of 100.
const maxSearchPages = 10

// findByNonce reads Dojo's open intents created since, page by page, for the one
// whose metadata carries nonce.
func (s *Service) findByNonce(ctx context.Context, since time.Time, nonce string) (*dojo.PaymentIntent, error) {
	cursor := &dojo.Cursor{Limit: 100}
	for range maxSearchPages {
		res, err := s.maker.SearchPaymentIntents(ctx, dojo.SearchRequest{
			Statuses: []dojo.Status{dojo.StatusCreated}, StartDate: &since, Cursor: cursor,
		})
		if err != nil {
			return nil, err
		}
		for i := range res.Data {
			if res.Data[i].Metadata[payments.MetaNonce] == nonce && dojo.ValidIntentID(res.Data[i].ID) {
				return &res.Data[i], nil
			}
		}
		if res.After == "" || res.After == cursor.After || len(res.Data) == 0 {
			return nil, nil
		}
		cursor = &dojo.Cursor{Limit: 100, After: res.After}
	}
	return nil, nil
}

// createRequest is the Dojo request for req: amount, reference, payment source, the
// description the agent wrote (Dojo shows it to the customer, so nothing else goes
// there), and the Slack ids in metadata, which the customer never sees, so a payment
// can be routed back even without its Redis record.
func (s *Service) createRequest(req CreateRequest, nonce string) dojo.CreateRequest {
	var expireAt *time.Time
	if req.Order.Expires > 0 {
		t := s.now().Add(req.Order.Expires).UTC()
		expireAt = &t
	}
	return dojo.CreateRequest{
		Amount:        req.Order.Amount,
		Reference:     req.Order.Reference,
		ExpireAt:      expireAt,
		Description:   req.Order.Description,
		PaymentSource: s.cfg.PaymentSource,
		Metadata: map[string]string{
			payments.MetaTeam:    req.From.Team,
			payments.MetaChannel: req.From.Channel,
			payments.MetaUser:    req.From.User,
			payments.MetaNonce:   nonce,
		},
	}
}

// cancelUnrecorded cancels an intent whose record could not be stored, so no link
// exists that paylink would not know about. Best effort.
func (s *Service) cancelUnrecorded(ctx context.Context, log zerolog.Logger, id string) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := s.maker.CancelPaymentIntent(cctx, id); err != nil {
		log.Error().Err(err).Str("intent", id).Msg("could not cancel an unrecorded payment intent")
	}
}

// audit writes an audit event to the log and the audit stream.
func (s *Service) audit(ctx context.Context, log zerolog.Logger, e store.AuditEvent) {
	audit.Write(ctx, log, s.audits, e)
}
