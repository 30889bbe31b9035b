package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"github.com/paylink/paylink/bot/edge"
	"github.com/paylink/paylink/bot/payments"
	"github.com/paylink/paylink/bot/slackin"
	"github.com/paylink/paylink/bot/slackout"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/store"
)

// createJob is one slash command on its way to a link.
type createJob struct {
	log    zerolog.Logger
	reqID  string
	sc     slack.SlashCommand
	cmd    Command
	anyway bool   // skip the duplicate guard: the agent chose "Create another anyway"
	sig    string // the request's signature, refused if seen before
	// key, when set, identifies "the same request" instead of the command's content: a
	// button pressed twice makes one link.
	key string
	// nonce marks the intent this job asks Dojo for, in its metadata.
	nonce string
}

// fingerprint identifies "the same command" for the re-type guard: same workspace,
// user, amount, currency and reference.
func (j createJob) fingerprint() string {
	h := sha256.New()
	parts := []string{j.sc.TeamID, j.sc.UserID, fmt.Sprint(j.cmd.Amount.Value), j.cmd.Amount.CurrencyCode, j.cmd.Reference}
	if j.key != "" {
		parts = []string{j.sc.TeamID, j.sc.UserID, j.key}
	}
	for _, part := range parts {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// create makes the link: claim the command, create the intent at Dojo, store the
// record, then post the link. Its first answer goes to h; nothing is stored and no link
// is shown when any step before the post fails.
func (l *linker) create(ctx context.Context, j createJob, h *handoff) {
	answered := false
	answerReply := func(r slackin.Reply) {
		answered = true
		if !h.deliver(r) && (r.Text != "" || r.Blocks != nil) && !r.Unauthorized {
			l.respond(ctx, j.log, j.sc.ResponseURL, r)
		}
	}
	answer := func(text string) { answerReply(slackin.Reply{Text: text}) }
	defer func() {
		if !answered {
			answer("Sorry, something went wrong and no link was created. Please try again.")
		}
	}()
	log := j.log
	began := l.now()
	fp := j.fingerprint()
	claim, err := l.store.ClaimCommand(ctx, store.ClaimRequest{
		Fingerprint: fp,
		Token:       j.reqID,
		PendingTTL:  l.cfg.WorkTimeout + time.Minute,
		Signature:   j.sig,
		Dup:         store.DupCheck{Team: j.sc.TeamID, Reference: j.cmd.Reference, Skip: j.anyway},
		Rate:        store.RateCheck{Team: j.sc.TeamID, User: j.sc.UserID, Limit: l.cfg.Policy.RateLimit, Window: l.cfg.Policy.RateWindow},
	})
	if err != nil {
		l.m.Command("store_error")
		log.Error().Err(err).Str("outcome", "store_error").Msg("slash command: claim")
		answer("Paylink could not reach its database, so no link was created. Please try again in a minute.")
		return
	}
	if claim.Replayed {
		l.m.Command("replayed")
		log.Warn().Str("outcome", "replayed").Msg("slash command: signature seen before")
		answerReply(slackin.Reply{Unauthorized: true})
		return
	}
	if claim.Limited {
		msg := fmt.Sprintf("You have made %d payment links in the last %s, the most allowed, so no link was created. You can make another in %s.",
			l.cfg.Policy.RateLimit, slackout.HumanDuration(l.cfg.Policy.RateWindow), slackout.HumanDuration(claim.RetryAfter.Round(time.Minute)+time.Minute))
		l.m.Command("rate_limited")
		log.Info().Str("outcome", "rate_limited").Msg("slash command")
		l.audit(ctx, log, store.AuditEvent{Event: "refused", Team: j.sc.TeamID, Channel: j.sc.ChannelID, User: j.sc.UserID,
			Amount: j.cmd.Amount.Value, Currency: j.cmd.Amount.CurrencyCode, Reference: j.cmd.Reference, Detail: "rate limit"})
		answer(msg)
		return
	}
	if claim.Creating {
		l.m.Command("duplicate_reference")
		log.Info().Str("outcome", "duplicate_reference").Msg("slash command: the reference is being created")
		answer(fmt.Sprintf("A link for %s is being created right now by another command; it will appear in this channel in a moment. "+
			"Once it has, you can make a second one for the same reference if you need it.", slackout.Escape(j.cmd.Reference)))
		return
	}
	if len(claim.Open) > 0 {
		l.m.Command("duplicate_reference")
		log.Info().Str("outcome", "duplicate_reference").Strs("open", claim.Open).Msg("slash command")
		answerReply(l.duplicateReply(ctx, j, claim.Open))
		return
	}
	if !claim.Won {
		if claim.IntentID != "" {
			l.m.Command("repeat")
			log.Info().Str("outcome", "repeat").Str("intent", claim.IntentID).Msg("slash command")
			answer(fmt.Sprintf("You asked for this %s link for %s a few minutes ago, so no second link was created. Here it is: %s",
				j.cmd.Amount, slackout.Escape(j.cmd.Reference), l.cfg.CheckoutURL+claim.IntentID))
			return
		}
		l.m.Command("repeat_pending")
		log.Info().Str("outcome", "repeat_pending").Msg("slash command")
		answer(fmt.Sprintf("Your %s link for %s is already being created; it will appear in this channel shortly.",
			j.cmd.Amount, slackout.Escape(j.cmd.Reference)))
		return
	}
	release := func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if err := l.store.ReleaseCommand(rctx, claim); err != nil {
			log.Warn().Err(err).Msg("slash command: release claim")
		}
	}

	start := l.now()
	j.nonce = edge.NewRequestID() + edge.NewRequestID()
	pi, err := l.links.CreatePaymentIntent(ctx, l.createRequest(j))
	dojoTook := l.now().Sub(start)
	if err == nil && !dojo.ValidIntentID(pi.ID) {
		err = fmt.Errorf("dojo returned an unusable payment intent id %q", edge.Truncate(pi.ID, 80))
	}
	var de *dojo.Error
	if errors.As(err, &de) && de.Timeout {
		// Dojo may have created the intent without its answer reaching us. Find it by the
		// nonce in its metadata rather than leave a link nobody knows about.
		if found := l.findTimedOut(ctx, log, j, start); found != nil {
			log.Info().Str("intent", found.ID).Msg("Dojo timed out but had created the intent: found it")
			pi, err = found, nil
		}
	}
	if err != nil {
		release()
		l.m.Command("dojo_error")
		log.Warn().Err(err).Dur("dojo_ms", dojoTook).Str("outcome", "dojo_error").Msg("slash command")
		answer(dojoFailure(err))
		return
	}
	link := store.Link{
		IntentID:    pi.ID,
		TeamID:      j.sc.TeamID,
		ChannelID:   j.sc.ChannelID,
		UserID:      j.sc.UserID,
		ResponseURL: j.sc.ResponseURL,
		Amount:      j.cmd.Amount.Value,
		Currency:    j.cmd.Amount.CurrencyCode,
		Reference:   j.cmd.Reference,
		Status:      string(dojo.StatusCreated),
		CreatedAt:   l.now().UTC(),
		Description: j.cmd.Description,
		TestMode:    l.cfg.TestMode,
	}
	switch {
	case pi.ExpireAt != nil && !pi.ExpireAt.IsZero():
		link.ExpiresAt = pi.ExpireAt.UTC()
	case j.cmd.Expires > 0:
		link.ExpiresAt = link.CreatedAt.Add(j.cmd.Expires)
	default:
		link.ExpiresAt = link.CreatedAt.Add(DefaultExpiry)
	}
	if err := l.store.SaveLink(ctx, link, &claim, l.cfg.RetypeWindow); err != nil {
		release()
		l.m.Command("store_error")
		log.Error().Err(err).Str("intent", pi.ID).Str("outcome", "store_error").Msg("slash command: save link")
		l.cancelUnrecorded(ctx, log, pi.ID)
		answer("Paylink could not record the link, so it was not posted and has been cancelled at Dojo. Please try again in a minute.")
		return
	}
	// The time spent here rather than at Dojo: the claim, the record, and the waits for
	// a CPU or a Redis connection in between.
	h.setOwnDelay(max(l.now().Sub(began)-dojoTook, time.Microsecond))
	l.m.Command("created")
	log.Info().Str("outcome", "created").Str("intent", pi.ID).Dur("dojo_ms", dojoTook).
		Int64("amount", link.Amount).Str("currency", link.Currency).Msg("slash command")
	answer("")
	l.announce(ctx, j, &link, store.AuditEvent{Event: "created", Team: link.TeamID, Channel: link.ChannelID, User: link.UserID,
		Amount: link.Amount, Currency: link.Currency, Reference: link.Reference, Intent: link.IntentID})
}

// findTimedOut looks at Dojo for the intent a timed-out create may have made, by the
// job's nonce. It asks a few times, for a few seconds, each time reading the open
// intents created since just before the create, page by page (Dojo's after cursor), up
// to maxSearchPages pages; nil if it is not there.
func (l *linker) findTimedOut(ctx context.Context, log zerolog.Logger, j createJob, start time.Time) *dojo.PaymentIntent {
	since := start.Add(-time.Minute).UTC()
	for attempt := range 3 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		pi, err := l.findByNonce(cctx, since, j.nonce)
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
func (l *linker) findByNonce(ctx context.Context, since time.Time, nonce string) (*dojo.PaymentIntent, error) {
	cursor := &dojo.Cursor{Limit: 100}
	for range maxSearchPages {
		res, err := l.links.SearchPaymentIntents(ctx, dojo.SearchRequest{
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

// createRequest is the Dojo request for a job: amount, reference, payment source, the
// description the agent wrote (Dojo shows it to the customer, so nothing else goes
// there), and the Slack ids in metadata, which the customer never sees, so a payment
// can be routed back even without its Redis record.
func (l *linker) createRequest(j createJob) dojo.CreateRequest {
	var expireAt *time.Time
	if j.cmd.Expires > 0 {
		t := l.now().Add(j.cmd.Expires).UTC()
		expireAt = &t
	}
	return dojo.CreateRequest{
		Amount:        j.cmd.Amount,
		Reference:     j.cmd.Reference,
		ExpireAt:      expireAt,
		Description:   j.cmd.Description,
		PaymentSource: l.cfg.PaymentSource,
		Metadata: map[string]string{
			payments.MetaTeam:    j.sc.TeamID,
			payments.MetaChannel: j.sc.ChannelID,
			payments.MetaUser:    j.sc.UserID,
			payments.MetaNonce:   j.nonce,
		},
	}
}

// dojoFailure tells the agent why Dojo made no link.
func dojoFailure(err error) string {
	var de *dojo.Error
	if errors.As(err, &de) {
		msg := "Dojo could not create the payment link, so nothing was posted.\n" + slackout.Escape(de.Message())
		if de.Timeout {
			msg += "\nIf you try again, check Dojo's dashboard first: a link may have been created without an answer reaching Paylink."
		}
		return msg
	}
	return "Dojo could not create the payment link, so nothing was posted. Please try again."
}

// cancelUnrecorded cancels an intent whose record could not be stored, so no link
// exists that Paylink would not know about. Best effort.
func (l *linker) cancelUnrecorded(ctx context.Context, log zerolog.Logger, id string) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := l.links.CancelPaymentIntent(cctx, id); err != nil {
		log.Error().Err(err).Str("intent", id).Msg("could not cancel an unrecorded payment intent")
	}
}
