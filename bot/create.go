package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"github.com/paylink/paylink/bot/audit"
	"github.com/paylink/paylink/bot/edge"
	"github.com/paylink/paylink/bot/metrics"
	"github.com/paylink/paylink/bot/payments"
	"github.com/paylink/paylink/bot/policy"
	"github.com/paylink/paylink/bot/slackin"
	"github.com/paylink/paylink/bot/slackout"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/store"
)

// PaymentLinks creates and inspects Dojo payment intents. *dojo.Client satisfies it.
type PaymentLinks interface {
	CreatePaymentIntent(ctx context.Context, req dojo.CreateRequest) (*dojo.PaymentIntent, error)
	PaymentIntent(ctx context.Context, id string) (*dojo.PaymentIntent, error)
	CancelPaymentIntent(ctx context.Context, id string) (*dojo.PaymentIntent, error)
	SearchPaymentIntents(ctx context.Context, req dojo.SearchRequest) (*dojo.SearchResult, error)
}

// CommandStore is what the command flow keeps in Redis: claims, link records, look-ups,
// rate limits and the audit trail. *store.Store satisfies it.
type CommandStore interface {
	ClaimCommand(ctx context.Context, req store.ClaimRequest) (store.Claim, error)
	ReleaseCommand(ctx context.Context, c store.Claim) error
	SeenSignature(ctx context.Context, sig string) (bool, error)
	Audit(ctx context.Context, e store.AuditEvent) error
	SaveLink(ctx context.Context, l store.Link, c *store.Claim, window time.Duration) error
	LinkPosted(ctx context.Context, intentID, channel, ts string, created store.AuditEvent) error
	Allow(ctx context.Context, what, team, user, mark string, limit int, window time.Duration) (bool, time.Duration, error)
	Link(ctx context.Context, intentID string) (*store.Link, error)
	ChannelLinks(ctx context.Context, team, channel string, n int) ([]*store.Link, error)
	LinksByReference(ctx context.Context, team, reference string, n int) ([]*store.Link, error)
	RecordStatus(ctx context.Context, e store.StatusEvent) (store.StatusChange, error)
}

// linker turns a parsed command into a payment link: it creates the Dojo intent,
// records it, and posts it in the channel.
type linker struct {
	cfg    Config
	links  PaymentLinks
	store  CommandStore
	slack  *slack.Client
	hc     *http.Client
	tasks  *Tasks
	now    func() time.Time
	groups *policy.Groups
	m      *metrics.Metrics
	// admit bounds the commands whose work is under way (see admission).
	admit *admission
	// intents keeps Dojo's recent answers for look-ups.
	intents intentCache
}

// inflightWait is how long a command waits for a free slot when the limit of commands
// under way is reached.
const inflightWait = 2 * time.Second

// ackDeadline is when a command must have been answered, with room left within Slack's
// 3 seconds for the answer to travel.
const ackDeadline = 2500 * time.Millisecond

// Command answers a slash command within cfg.AckBudget plus a little, and leaves
// nothing behind for a rejected command.
func (l *linker) Command(ctx context.Context, log zerolog.Logger, in slackin.Request, sc slack.SlashCommand) slackin.Reply {
	clog := log.With().Str("team", sc.TeamID).Str("channel", sc.ChannelID).Str("user", sc.UserID).Logger()

	cmd, err := ParseCommand(sc.Text)
	// A create command's signature is checked with its claim, in the same round trip.
	if (err != nil || cmd.Kind != CommandCreate) && l.Replayed(ctx, clog, in.Signature) {
		l.m.Command("replayed")
		return slackin.Reply{Unauthorized: true}
	}
	if err != nil {
		var usage *UsageError
		if errors.As(err, &usage) {
			l.m.Command("rejected")
			l.refused(clog, sc, cmd, usage.Problem)
			return slackin.Reply{Text: usage.Message()}
		}
		clog.Error().Err(err).Msg("slash command: parse")
		return slackin.Reply{Text: "Sorry, that command could not be read.\n" + Usage}
	}
	reqID := in.ID
	switch cmd.Kind {
	case CommandHelp:
		l.m.Command("help")
		return slackin.Reply{Text: helpText}
	case CommandForm:
		l.m.Command("form")
		if err := l.openForm(ctx, sc); err != nil {
			clog.Warn().Err(err).Msg("could not open the form; answering with help")
			return slackin.Reply{Text: helpText}
		}
		return slackin.Reply{}
	case CommandList, CommandStatus, CommandCancel:
		// Reading links is bound by the same allow-lists as making them.
		if msg := l.cfg.Policy.Refuse(ctx, l.groups, sc.UserID, sc.ChannelID); msg != "" {
			l.m.Command("not_allowed")
			l.refused(clog, sc, cmd, msg)
			return slackin.Reply{Text: msg}
		}
	}
	switch cmd.Kind {
	case CommandList:
		l.m.Command("list")
		return l.list(ctx, clog, sc)
	case CommandStatus, CommandCancel:
		l.m.Command(map[CommandKind]string{CommandStatus: "status", CommandCancel: "cancel"}[cmd.Kind])
		rep, _ := l.run(clog, sc.ResponseURL, func(ctx context.Context, h *handoff) {
			l.subcommand(ctx, clog, sc, cmd, h)
		}, "Asking Dojo… the answer will follow here in a moment.")
		return rep
	case CommandCreate:
	default:
		return slackin.Reply{Text: helpText}
	}
	if err := l.cfg.MaxAmounts.Check(cmd.Amount); err != nil {
		var over *policy.OverLimit
		if errors.As(err, &over) {
			usage := &UsageError{Problem: over.Problem}
			if l.Replayed(ctx, clog, in.Signature) {
				l.m.Command("replayed")
				return slackin.Reply{Unauthorized: true}
			}
			l.m.Command("over_limit")
			l.refused(clog, sc, cmd, usage.Problem)
			return slackin.Reply{Text: usage.Message()}
		}
	}
	if msg := l.cfg.Policy.Refuse(ctx, l.groups, sc.UserID, sc.ChannelID); msg != "" {
		// A refused request is recorded as seen too: replayed, it is refused again
		// as a replay, not audited again.
		if l.Replayed(ctx, clog, in.Signature) {
			l.m.Command("replayed")
			return slackin.Reply{Unauthorized: true}
		}
		l.m.Command("not_allowed")
		l.refused(clog, sc, cmd, msg)
		return slackin.Reply{Text: msg}
	}
	rep, ok := l.start(clog, reqID, in.Signature, sc, cmd)
	if !ok {
		clog.Info().Str("outcome", "slow").Msg("slash command acknowledged before Dojo answered")
	}
	return rep
}

// handoff passes the first answer of a background job to the request that started it,
// unless the request has stopped waiting; then the job delivers it through response_url.
type handoff struct {
	mu       sync.Mutex
	gaveUp   bool
	answered bool
	ch       chan slackin.Reply
	// own is the time the work spent in paylink and Redis rather than waiting on Dojo
	// or Slack (see admission); 0 when not measured.
	own time.Duration
}

// setOwnDelay records the work's own delay.
func (h *handoff) setOwnDelay(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.own = d
}

func (h *handoff) ownDelay() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.own
}

// isAnswered reports whether the work has given its first answer.
func (h *handoff) isAnswered() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.answered
}

// newHandoff returns a handoff for a request that waits for the answer.
func newHandoff() *handoff { return &handoff{ch: make(chan slackin.Reply, 1)} }

// noWaiter returns a handoff nobody waits on: every answer goes through response_url.
func noWaiter() *handoff { return &handoff{gaveUp: true} }

// deliver offers the job's answer to the waiting request. It reports false when the
// request has already been answered and the job must deliver the text itself.
func (h *handoff) deliver(r slackin.Reply) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.answered = true
	if h.gaveUp {
		return false
	}
	h.ch <- r
	return true
}

// giveUp stops the request waiting. It returns the job's answer if one arrived just now.
func (h *handoff) giveUp() (slackin.Reply, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case r := <-h.ch:
		return r, true
	default:
		h.gaveUp = true
		return slackin.Reply{}, false
	}
}

// start runs the creation of a link in the background and waits up to cfg.AckBudget
// for its first answer: what to acknowledge the command with (empty when the link is
// made and about to be posted). When the budget runs out first, it acknowledges with
// nothing and the job reports through response_url (see run).
func (l *linker) start(log zerolog.Logger, reqID, sig string, sc slack.SlashCommand, cmd Command) (slackin.Reply, bool) {
	job := createJob{log: log, reqID: reqID, sig: sig, sc: sc, cmd: cmd}
	return l.run(log, sc.ResponseURL, func(ctx context.Context, h *handoff) { l.create(ctx, job, h) },
		fmt.Sprintf("Creating a %s payment link for %s… Dojo is taking a moment; the link will appear in this channel as soon as it is ready.",
			cmd.Amount, slackout.Escape(cmd.Reference)))
}

// run starts work in the background and waits up to cfg.AckBudget for its first
// answer. When the budget runs out first it returns an empty reply (acknowledging
// with nothing shown) and false; the work then answers through response_url, and if it
// has not answered by cfg.SlowNotice, slowText tells the agent it is on its way.
func (l *linker) run(log zerolog.Logger, responseURL string, work func(context.Context, *handoff), slowText string) (slackin.Reply, bool) {
	h := newHandoff()
	// Bound the work in flight: when Dojo is slow, or paylink can't keep up, and commands
	// keep coming, wait a little for a slot, then say so rather than pile up work.
	// The wait and the acknowledgement budget together stay inside Slack's 3 seconds.
	if !l.admit.acquire(min(inflightWait, max(ackDeadline-l.cfg.AckBudget, 0))) {
		l.m.Command("busy")
		limit, inflight := l.admit.state()
		log.Warn().Int("limit", limit).Int("in_flight", inflight).Msg("too many commands in flight: refused")
		return slackin.Reply{Text: "Paylink is very busy right now, so nothing was done. Please try again in a moment."}, true
	}
	if !l.tasks.Go(l.cfg.WorkTimeout, func(ctx context.Context) {
		defer func() { l.admit.release(h.ownDelay()) }()
		work(ctx, h)
	}) {
		l.admit.release(0)
		return slackin.Reply{Text: "Paylink is restarting, so nothing was done. Please try again in a few seconds."}, true
	}
	timer := time.NewTimer(l.cfg.AckBudget)
	defer timer.Stop()
	select {
	case r := <-h.ch:
		return r, true
	case <-timer.C:
	}
	if r, ok := h.giveUp(); ok {
		return r, true
	}
	if wait := l.cfg.SlowNotice - l.cfg.AckBudget; wait > 0 && slowText != "" {
		// A timer rather than a sleeping goroutine: under load most commands pass the
		// ack budget, and nearly all of them answer long before the notice is due.
		time.AfterFunc(wait, func() {
			if h.isAnswered() {
				return
			}
			l.tasks.Go(10*time.Second, func(ctx context.Context) {
				if !h.isAnswered() {
					l.respond(ctx, log, responseURL, slackin.Reply{Text: slowText})
				}
			})
		})
	}
	return slackin.Reply{}, false
}

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

// announce posts the link message in the command's channel with chat.postMessage and
// records its ts. Where the bot can't post (a private channel or DM it is not in) the
// command's response_url carries the link into the channel instead; if Slack refuses
// for another reason, the agent gets the link privately.
func (l *linker) announce(ctx context.Context, j createJob, link *store.Link, created store.AuditEvent) {
	log := j.log.With().Str("intent", link.IntentID).Logger()
	audited := false
	defer func() {
		if !audited {
			l.audit(ctx, log, created)
		}
	}()
	text, blocks := slackout.Card(link, l.cfg.CheckoutURL)
	channel, ts, err := slackout.PostMessage(ctx, l.slack, link.ChannelID,
		slack.MsgOptionText(text, false),
		slack.MsgOptionBlocks(blocks...),
		slack.MsgOptionDisableLinkUnfurl(),
		slack.MsgOptionDisableMediaUnfurl(),
	)
	if err == nil {
		// The message ts and the audit event in one round trip.
		audit.Log(log, created)
		audited = true
		if err := l.store.LinkPosted(ctx, link.IntentID, channel, ts, created); err != nil {
			log.Error().Err(err).Msg("could not record the link message ts")
		}
		return
	}
	l.m.SlackError("chat.postMessage", err)
	code := slackout.ErrorCode(err)
	if slackout.ChannelUnreachable(code) {
		log.Info().Str("slack_error", code).Msg("posting the link through response_url")
		msg := &slack.WebhookMessage{
			ResponseType: slack.ResponseTypeInChannel,
			Text:         text,
			Blocks:       &slack.Blocks{BlockSet: blocks},
			UnfurlLinks:  new(false),
			UnfurlMedia:  new(false),
		}
		if err := slackout.PostResponse(ctx, l.hc, link.ResponseURL, msg); err == nil {
			return
		} else {
			log.Error().Err(err).Msg("could not post the link through response_url")
		}
	} else {
		log.Error().Err(err).Str("slack_error", code).Msg("could not post the link")
	}
	l.respondEphemeral(ctx, j, fmt.Sprintf("Paylink could not post the link in this channel (Slack said %q). Here it is, to send to the customer: %s",
		code, l.cfg.CheckoutURL+link.IntentID))
}

// duplicateReply tells the agent a link for the same reference is still open and
// offers to create another anyway.
func (l *linker) duplicateReply(ctx context.Context, j createJob, open []string) slackin.Reply {
	var lines []string
	for i, id := range open {
		if i == 3 {
			break
		}
		if rec, err := l.store.Link(ctx, id); err == nil {
			lines = append(lines, slackout.ListLine(rec, l.cfg.CheckoutURL))
		} else {
			lines = append(lines, "• `"+l.cfg.CheckoutURL+id+"`")
		}
	}
	text := fmt.Sprintf("A payment link for %s is still open, so no second one was created:\n%s\nSend the customer that link, or create another anyway.",
		slackout.Escape(j.cmd.Reference), strings.Join(lines, "\n"))
	return slackin.Reply{Text: text, Blocks: []slack.Block{
		slack.NewSectionBlock(slackout.Mrkdwn(text), nil, nil),
		slack.NewActionBlock("duplicate_actions",
			slack.NewButtonBlockElement(slackout.ActionCreateAnyway, anywayButtonValue(j.cmd), slackout.Plain("Create another anyway"))),
	}}
}

// anywayButtonValue encodes a command for the "Create another anyway" button, within
// Slack's 2000-character limit for a button's value (a description that would not fit
// is left out).
func anywayButtonValue(cmd Command) string {
	v := anywayValue{Amount: cmd.Amount.Value, Currency: cmd.Amount.CurrencyCode,
		Reference: cmd.Reference, Expires: int64(cmd.Expires / time.Second), Description: cmd.Description}
	enc := func() string {
		var b strings.Builder
		e := json.NewEncoder(&b)
		e.SetEscapeHTML(false)
		e.Encode(v)
		return strings.TrimSpace(b.String())
	}
	out := enc()
	if len([]rune(out)) > 2000 {
		v.Description = ""
		out = enc()
	}
	return out
}

// anywayValue is the "Create another anyway" button's value: the command to run again.
type anywayValue struct {
	Amount      int64  `json:"a"`
	Currency    string `json:"c"`
	Reference   string `json:"r"`
	Expires     int64  `json:"e,omitempty"` // seconds
	Description string `json:"d,omitempty"`
}

// respond posts r to a response_url as an ephemeral message.
func (l *linker) respond(ctx context.Context, log zerolog.Logger, responseURL string, r slackin.Reply) {
	if responseURL == "" {
		log.Error().Msg("no response_url to answer through")
		return
	}
	msg := &slack.WebhookMessage{
		ResponseType: slack.ResponseTypeEphemeral,
		Text:         r.Text,
		UnfurlLinks:  new(false),
		UnfurlMedia:  new(false),
	}
	if r.Blocks != nil {
		msg.Blocks = &slack.Blocks{BlockSet: r.Blocks}
	}
	if err := slackout.PostResponse(ctx, l.hc, responseURL, msg); err != nil {
		log.Error().Err(err).Msg("could not answer through response_url")
	}
}

// respondEphemeral tells the command's author something after the command was
// acknowledged, through its response_url.
func (l *linker) respondEphemeral(ctx context.Context, j createJob, text string) {
	l.respond(ctx, j.log, j.sc.ResponseURL, slackin.Reply{Text: text})
}
