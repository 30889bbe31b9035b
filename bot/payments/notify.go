package payments

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"github.com/paylink/paylink/bot/audit"
	"github.com/paylink/paylink/bot/metrics"
	"github.com/paylink/paylink/bot/slackout"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/store"
)

// NotifyConfig tunes the notification worker.
type NotifyConfig struct {
	Workers     int           // consumers reading the stream in this process
	ClaimIdle   time.Duration // a notice held this long by a silent consumer is taken over
	RetryBase   time.Duration // first retry delay; it doubles each attempt, up to RetryMax
	RetryMax    time.Duration
	MaxAttempts int           // then the notice is dead-lettered
	MaxWait     time.Duration // the longest Retry-After waited out in place
	// CardWait is how long a notice waits for its link's card to be posted: longer than
	// the work of a command may take. A card still pending then never will be (its
	// process died), and the notice goes out on its own.
	CardWait time.Duration
}

// DefaultNotifyConfig is the notifier's default tuning: 12 attempts from 5 s doubling
// to 15 min span about 66 minutes before a notice is dead-lettered.
func DefaultNotifyConfig() NotifyConfig {
	return NotifyConfig{
		Workers:     4,
		ClaimIdle:   10 * time.Second,
		RetryBase:   5 * time.Second,
		RetryMax:    15 * time.Minute,
		MaxAttempts: 12,
		MaxWait:     60 * time.Second,
		CardWait:    2 * time.Minute,
	}
}

// Consumers of stopped processes that hold nothing are removed from the group after
// consumerPruneIdle, checked every consumerPruneEvery.
const (
	consumerPruneIdle  = time.Hour
	consumerPruneEvery = 10 * time.Minute
)

// readBatch is how many new notices a worker takes in one read. It works through them
// one at a time and keeps them all claimed meanwhile; under a backlog one read (which
// also acknowledges the last batch) serves several notices, and with notices arriving
// one by one each read returns one.
const readBatch = 8

// cardPoll is how soon a notice held for its link's card is looked at again (or as
// soon after as the retries are next moved back into the stream).
const cardPoll = 250 * time.Millisecond

// maxDeliveries bounds how often a notice may be handed out without being settled
// (each time its consumer died holding it) before it is dead-lettered.
const maxDeliveries = 6

// noticeStore is the notification stream and the link records notices are posted for.
// *store.Store satisfies it.
type noticeStore interface {
	EnsureGroup(ctx context.Context) error
	ReadNotifications(ctx context.Context, consumer string, count int, block time.Duration, delivered ...string) ([]store.Notification, error)
	ClaimStale(ctx context.Context, consumer string, minIdle time.Duration, count int) ([]store.Notification, error)
	PruneConsumers(ctx context.Context, idle time.Duration) (int, error)
	Touch(ctx context.Context, consumer string, entryIDs ...string) error
	Ack(ctx context.Context, entryID string) error
	Retry(ctx context.Context, n store.Notification, due time.Time, count bool) error
	PromoteDue(ctx context.Context, limit int) (int, error)
	DeadLetter(ctx context.Context, n store.Notification, reason string) error
	Backlog(ctx context.Context) (store.Backlog, error)
	Link(ctx context.Context, intentID string) (*store.Link, error)
	SetNoticePosted(ctx context.Context, intentID, status, ts, current string) error
	NoticePosted(ctx context.Context, intentID, status, ts, current string, event store.AuditEvent) (bool, error)
	Audit(ctx context.Context, e store.AuditEvent) error
	NoteDojoRefunded(ctx context.Context, intentID string, amount int64) error
	Revoked(ctx context.Context, team string) (string, error)
}

// Notifier delivers status notices from the Redis stream to Slack: a thread reply under
// the link message, and an update of the link message. Any number of notifiers, in any
// number of processes, share the work through the stream's consumer group.
type Notifier struct {
	cfg      NotifyConfig
	checkout string
	store    noticeStore
	links    Intents
	chat     *slackout.Chat
	log      zerolog.Logger
	clock    clockwork.Clock
	name     string
	adopt    *adopter
	m        *metrics.Metrics
	posted   func(ctx context.Context, l *store.Link)
	// revoked caches, per workspace, whether its token was revoked, for revokedFor.
	revokedMu sync.Mutex
	revoked   map[string]revokedEntry
	// lastRedisErr is when a Redis call of this notifier last failed (unix ns; 0: never).
	lastRedisErr atomic.Int64
	// inHand is the notices this process's workers have taken and not yet settled.
	inHand entrySet
}

// entrySet is a set of stream entry IDs, safe for concurrent use.
type entrySet struct {
	mu  sync.Mutex
	ids map[string]struct{}
}

func (s *entrySet) add(ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ids == nil {
		s.ids = make(map[string]struct{})
	}
	for _, id := range ids {
		s.ids[id] = struct{}{}
	}
}

func (s *entrySet) remove(ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		delete(s.ids, id)
	}
}

func (s *entrySet) has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.ids[id]
	return ok
}

// NewNotifier returns a notifier built from d.
func NewNotifier(d Deps) *Notifier {
	cfg := d.Notify
	def := DefaultNotifyConfig()
	if cfg.Workers <= 0 {
		cfg.Workers = def.Workers
	}
	if cfg.ClaimIdle <= 0 {
		cfg.ClaimIdle = def.ClaimIdle
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = def.RetryBase
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = def.RetryMax
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = def.MaxAttempts
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = def.MaxWait
	}
	if cfg.CardWait <= 0 {
		cfg.CardWait = def.CardWait
	}
	clock := d.clock()
	consumer := d.Consumer
	if consumer == "" {
		consumer = "paylink"
	}
	b := make([]byte, 4)
	rand.Read(b)
	return &Notifier{
		cfg:      cfg,
		checkout: d.CheckoutURL,
		store:    d.Store,
		links:    d.Dojo,
		chat:     d.Chat,
		log:      d.Log.With().Str("component", "notifier").Logger(),
		clock:    clock,
		name:     consumer + "-" + hex.EncodeToString(b),
		adopt:    &adopter{store: d.Store, links: d.Dojo, testMode: d.TestMode, now: clock.Now},
		m:        d.Metrics,
		posted:   d.Posted,
	}
}

// Run delivers notices until ctx ends. A notice being delivered when ctx ends is left
// pending; another consumer (or this one, restarted) takes it over.
func (n *Notifier) Run(ctx context.Context) {
	for {
		err := n.store.EnsureGroup(ctx)
		if err == nil {
			break
		}
		n.log.Error().Err(err).Msg("could not create the notification consumer group; retrying")
		if !sleep(ctx, n.clock, time.Second) {
			return
		}
	}
	var wg sync.WaitGroup
	for i := range n.cfg.Workers {
		wg.Go(func() { n.consume(ctx, fmt.Sprintf("%s-%d", n.name, i)) })
	}
	wg.Go(func() { n.reclaim(ctx, n.name+"-r") })
	wg.Go(func() { n.promote(ctx) })
	wg.Wait()
}

// consume reads new notices as consumer, up to readBatch at a time, and delivers them
// one at a time. The notices delivered are acknowledged with the next read.
func (n *Notifier) consume(ctx context.Context, consumer string) {
	var delivered []string
	defer func() {
		// Stopping: acknowledge what was delivered since the last read.
		for _, id := range delivered {
			n.ack(ctx, n.log, id)
		}
		n.inHand.remove(delivered...)
	}()
	for ctx.Err() == nil {
		batch, err := n.store.ReadNotifications(ctx, consumer, readBatch, time.Second, delivered...)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			n.redisFailed()
			n.log.Warn().Err(err).Msg("could not read notifications; retrying")
			sleep(ctx, n.clock, time.Second)
			continue
		}
		n.inHand.remove(delivered...)
		delivered = delivered[:0]
		n.handleAll(ctx, consumer, batch, func(id string) { delivered = append(delivered, id) })
	}
}

// handleAll handles a batch of notices one at a time, keeping those not yet settled
// claimed by consumer meanwhile (a long wait, a rate limit say, is not mistaken for a
// dead consumer), and calls settled with each the caller is to acknowledge. The batch
// is in hand until then (see reclaim); the caller takes each it acknowledges out of
// hand once it has.
func (n *Notifier) handleAll(ctx context.Context, consumer string, batch []store.Notification, settled func(entryID string)) {
	if len(batch) == 0 {
		return
	}
	ids := make([]string, len(batch))
	for i, note := range batch {
		ids[i] = note.EntryID
	}
	n.inHand.add(ids...)
	hctx, stop := context.WithCancel(ctx)
	defer stop()
	go n.heartbeat(hctx, consumer, ids)
	for _, note := range batch {
		if ctx.Err() != nil {
			// Stopping: the rest stay pending for another consumer.
			n.inHand.remove(note.EntryID)
			continue
		}
		if n.handle(hctx, note) {
			settled(note.EntryID)
		} else {
			n.inHand.remove(note.EntryID) // retried, dead-lettered or left pending
		}
	}
}

// reclaim takes over notices that a consumer has held idle for ClaimIdle: it died.
func (n *Notifier) reclaim(ctx context.Context, consumer string) {
	every := max(n.cfg.ClaimIdle/4, 100*time.Millisecond)
	var lastPrune time.Time
	for sleep(ctx, n.clock, every) {
		if n.clock.Now().Sub(lastPrune) >= consumerPruneEvery {
			lastPrune = n.clock.Now()
			if k, err := n.store.PruneConsumers(ctx, consumerPruneIdle); err == nil && k > 0 {
				n.log.Info().Int("removed", k).Msg("removed the consumers of stopped processes")
			}
		}
		if !n.mayReclaim() {
			continue
		}
		batch, err := n.store.ClaimStale(ctx, consumer, n.cfg.ClaimIdle, 10)
		if err != nil {
			if ctx.Err() == nil {
				n.redisFailed()
				n.log.Warn().Err(err).Msg("could not claim stale notifications")
			}
			continue
		}
		taken := batch[:0]
		for _, note := range batch {
			log := n.log.With().Str("intent", note.IntentID).Str("status", note.Status).Str("entry", note.EntryID).Logger()
			if n.inHand.has(note.EntryID) {
				// One of this process's workers holds it and is alive: Redis stalled
				// for longer than ClaimIdle (this claim was waiting behind it), so the
				// worker's renewals could not land. It stays the worker's, whose next
				// renewal claims it back; taking it would post it twice.
				log.Warn().Msg("a notice in hand here looked idle to Redis: left with its worker")
				continue
			}
			log.Info().Int64("deliveries", note.Deliveries).Msg("took over a notification from a silent consumer")
			taken = append(taken, note)
		}
		n.handleAll(ctx, consumer, taken, func(id string) { n.ack(ctx, n.log, id); n.inHand.remove(id) })
	}
}

// promote moves scheduled retries whose time has come back into the stream.
func (n *Notifier) promote(ctx context.Context) {
	every := min(max(n.cfg.RetryBase/4, 50*time.Millisecond), time.Second)
	var lastBacklog time.Time
	for sleep(ctx, n.clock, every) {
		if _, err := n.store.PromoteDue(ctx, 100); err != nil && ctx.Err() == nil {
			n.redisFailed()
			n.log.Warn().Err(err).Msg("could not promote notification retries")
		}
		if n.m != nil && n.clock.Now().Sub(lastBacklog) >= 5*time.Second {
			lastBacklog = n.clock.Now()
			if b, err := n.store.Backlog(ctx); err == nil {
				n.m.SetBacklog(b.Pending, b.Scheduled, b.Dead)
			}
		}
	}
}

// handle delivers one notice. It reports true when the notice is settled and the
// caller is to acknowledge it; a notice scheduled for a retry or dead-lettered is
// settled here.
func (n *Notifier) handle(ctx context.Context, note store.Notification) (ack bool) {
	log := n.log.With().Str("intent", note.IntentID).Str("status", note.Status).Str("entry", note.EntryID).
		Int("attempt", note.Attempt).Str("source", note.Source).Logger()
	out := n.deliver(ctx, log, note)
	if out.kind == settled {
		result := "delivered"
		if out.reason != "" {
			result = "dropped"
		}
		n.m.Notification(result)
		return true
	}
	if ctx.Err() != nil {
		return false // shutting down: the notice stays pending for another consumer
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var err error
	switch out.kind {
	case retry:
		if out.count && note.Attempt >= n.cfg.MaxAttempts {
			n.m.Notification("dead_lettered")
			log.Error().Str("reason", out.reason).Msg("notification dead-lettered after its last attempt")
			err = n.store.DeadLetter(sctx, note, out.reason)
			break
		}
		delay := out.after
		if delay == 0 {
			delay = n.backoff(note.Attempt)
		}
		n.m.Notification("retried")
		log.Warn().Str("reason", out.reason).Dur("retry_in", delay).Msg("notification will be retried")
		err = n.store.Retry(sctx, note, n.clock.Now().Add(delay), out.count)
	case dead:
		n.m.Notification("dead_lettered")
		log.Error().Str("reason", out.reason).Msg("notification dead-lettered")
		err = n.store.DeadLetter(sctx, note, out.reason)
	}
	if err != nil {
		// Left pending: it will be taken over after ClaimIdle.
		n.redisFailed()
		log.Error().Err(err).Msg("could not settle the notification; it stays pending")
	}
	return false
}

// ack acknowledges a notice that was delivered (or had nothing to deliver).
func (n *Notifier) ack(ctx context.Context, log zerolog.Logger, entryID string) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := n.store.Ack(sctx, entryID); err != nil {
		// Left pending: it will be taken over after ClaimIdle.
		n.redisFailed()
		log.Error().Err(err).Str("entry", entryID).Msg("could not settle the notification; it stays pending")
	}
}

// backoff is the delay before attempt+1.
func (n *Notifier) backoff(attempt int) time.Duration {
	d := n.cfg.RetryBase
	for i := 1; i < attempt && d < n.cfg.RetryMax; i++ {
		d *= 2
	}
	return min(d, n.cfg.RetryMax)
}

// heartbeat keeps the entries claimed by consumer while they are being worked on, so a
// long wait (a rate limit) is not mistaken for a dead consumer. An entry delivered
// meanwhile stays the consumer's until its next read acknowledges it; one moved to the
// retries is no longer pending, and touching it does nothing.
func (n *Notifier) heartbeat(ctx context.Context, consumer string, entryIDs []string) {
	every := max(n.cfg.ClaimIdle/3, 50*time.Millisecond)
	for sleep(ctx, n.clock, every) {
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		if err := n.store.Touch(tctx, consumer, entryIDs...); err != nil {
			n.redisFailed()
			n.log.Warn().Err(err).Strs("entries", entryIDs).Msg("could not renew notification claims")
		}
		cancel()
	}
}

type outcomeKind int

const (
	settled outcomeKind = iota // done (or nothing to do): acknowledge
	retry                      // try again later
	dead                       // give up now
)

type outcome struct {
	kind   outcomeKind
	reason string
	after  time.Duration // retry: a delay decided by the failure (Retry-After)
	count  bool          // retry: counts towards MaxAttempts
}

func done() outcome                    { return outcome{kind: settled} }
func dropped(reason string) outcome    { return outcome{kind: settled, reason: reason} }
func retryLater(reason string) outcome { return outcome{kind: retry, reason: reason, count: true} }
func giveUp(reason string) outcome     { return outcome{kind: dead, reason: reason} }
func holdFor(reason string, d time.Duration) outcome {
	return outcome{kind: retry, reason: reason, after: d}
}

// deliver does the work of one notice: confirm with Dojo, post the notice once, update
// the link message.
func (n *Notifier) deliver(ctx context.Context, log zerolog.Logger, note store.Notification) outcome {
	if note.Deliveries > maxDeliveries {
		return giveUp(fmt.Sprintf("handed out %d times without being settled", note.Deliveries))
	}
	if !store.Notifies(note.Status) {
		return done()
	}
	link, err := n.store.Link(ctx, note.IntentID)
	if errors.Is(err, store.ErrNotFound) {
		_, ours, aerr := n.adopt.known(ctx, log, note.IntentID)
		if aerr != nil {
			return retryLater("looking up the intent: " + aerr.Error())
		}
		if !ours {
			log.Warn().Msg("notification for a link with no record and no Slack metadata: dropped")
			return dropped("no record")
		}
		link, err = n.store.Link(ctx, note.IntentID)
	}
	if err != nil {
		return retryLater("reading the link record: " + err.Error())
	}
	// The record is made before the card is posted and the card's ts recorded after it:
	// a notice handled in between (a payment made at once) waits for the card, so it
	// goes in the card's thread and the card shows it, rather than out on its own.
	if link.CardPending && n.clock.Since(link.CreatedAt) < n.cfg.CardWait {
		return holdFor("the link's card is being posted", cardPoll)
	}
	// A workspace that uninstalled paylink or revoked its token can't be posted to: its
	// notices are held, each with a line in the log, and looked at again every
	// RetryMax without using up attempts, so a "Paid" reaches the workspace if paylink is
	// installed again there, and nothing is lost meanwhile.
	if why := n.revokedWhy(ctx, link.TeamID); why != "" {
		log.Error().Str("team", link.TeamID).Str("why", why).Msg("notice held: the workspace " + why)
		return holdFor("workspace "+why, n.cfg.RetryMax)
	}

	// Confirm with Dojo: a webhook's signature has no timestamp, so an old genuine
	// delivery could be replayed; Dojo's own answer is what is announced.
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	pi, err := n.links.PaymentIntent(cctx, note.IntentID)
	cancel()
	switch {
	case dojo.IsNotFound(err):
		log.Warn().Msg("Dojo does not know this intent: notice not posted")
		return dropped("unknown at Dojo")
	case err != nil:
		return retryLater("confirming with Dojo: " + err.Error())
	case note.Status == store.StatusExpired:
		if !(pi.Status == dojo.StatusCreated || pi.Status == dojo.StatusCanceled) || !Expired(link, pi, n.clock.Now()) {
			log.Warn().Str("dojo_status", string(pi.Status)).Msg("link not expired after all: notice not posted")
			return dropped("not expired")
		}
	case !confirms(pi.Status, dojo.Status(note.Status)):
		if note.Attempt < 3 {
			return retryLater(fmt.Sprintf("Dojo reports %s, not %s", pi.Status, note.Status))
		}
		log.Warn().Str("dojo_status", string(pi.Status)).Msg("Dojo does not confirm the status: notice not posted")
		return dropped("not confirmed by Dojo")
	}
	current := string(pi.Status)
	if note.Status == store.StatusExpired {
		current = store.StatusExpired
	}

	if pi.RefundedAmount > link.Refunds.AtDojo {
		// A refund, perhaps made in Dojo's dashboard: the card shows it from now on.
		if err := n.store.NoteDojoRefunded(ctx, link.IntentID, pi.RefundedAmount); err != nil {
			log.Warn().Err(err).Msg("could not record what Dojo reports refunded")
		}
		link.Refunds.AtDojo = pi.RefundedAmount
	}
	if link.Notices[note.Status] == "" && !refundedFromSlack(link, note.Status) {
		if out, ok := n.postNotice(ctx, log, link, note.Status, current, note.Source); !ok {
			return out
		}
	}
	if link.MessageTS != "" {
		n.updateCard(ctx, log, link, current)
	}
	return done()
}

// refundedFromSlack reports whether a Refunded or Reversed status comes from a refund
// made in Slack (done, or under way): that refund's own reply in the thread says it,
// with who and why, so the notice would say it twice.
func refundedFromSlack(link *store.Link, status string) bool {
	switch status {
	case string(dojo.StatusRefunded):
		return link.Refunds.FromSlack(store.KindRefund)
	case string(dojo.StatusReversed):
		return link.Refunds.FromSlack(store.KindReversal)
	}
	return false
}

// confirms reports whether Dojo's current status shows the announced one happened.
func confirms(current, announced dojo.Status) bool {
	switch announced {
	case dojo.StatusCaptured:
		return current == dojo.StatusCaptured || current == dojo.StatusRefunded || current == dojo.StatusReversed
	default:
		return current == announced
	}
}

// postNotice posts the thread reply (or, when the channel can't be reached, a DM to
// the agent) and records it. It reports false with the outcome when it did not.
func (n *Notifier) postNotice(ctx context.Context, log zerolog.Logger, link *store.Link, status, current, source string) (outcome, bool) {
	channel := link.MessageChannel
	if channel == "" {
		channel = link.ChannelID
	}
	msg := slackout.Message{Channel: channel, Text: slackout.Notice(link, status)}
	if link.MessageTS != "" {
		msg.ThreadTS = link.MessageTS
		msg.Broadcast = status == string(dojo.StatusCaptured)
	}
	ts, err := n.post(ctx, msg)
	if err != nil && slackout.ChannelUnreachable(slackout.ErrorCode(err)) && link.UserID != "" {
		log.Info().Str("slack_error", slackout.ErrorCode(err)).Msg("channel unreachable: sending the notice to the agent as a DM")
		ts, err = n.post(ctx, slackout.Message{Channel: link.UserID, Text: slackout.DMNotice(link, status)})
	}
	if err != nil {
		return n.classify(log, err), false
	}
	// A cancel from Slack is audited with who canceled; one made at Dojo is audited here,
	// written with the notice's record.
	var event *store.AuditEvent
	if !(status == string(dojo.StatusCanceled) && source == "slack") {
		name := strings.ToLower(status)
		if status == string(dojo.StatusCaptured) {
			name = "paid"
		}
		event = &store.AuditEvent{Event: name, Team: link.TeamID, Channel: link.ChannelID, User: link.UserID,
			Amount: link.Amount, Currency: link.Currency, Reference: link.Reference, Intent: link.IntentID, Detail: "reported by " + source}
		audit.Log(n.log, *event)
	}
	audited := n.recordPosted(ctx, log, link.IntentID, status, ts, current, event)
	log.Info().Str("outcome", "posted").Str("ts", ts).Msg("status notice")
	if n.posted != nil {
		n.posted(ctx, link)
	}
	if event != nil && !audited {
		audit.Save(ctx, n.log, n.store, *event)
	}
	return outcome{}, true
}

// recordGrace is how long a notice already posted keeps trying to be recorded once the
// process is stopping.
const recordGrace = 10 * time.Second

// recordPosted records that the notice for status was posted, with its audit event when
// there is one (reporting whether that was written), trying again until Redis
// takes it (replicated, with PAYLINK_REDIS_MIN_REPLICAS): a notice posted but not
// recorded is posted again by whoever handles it next. Meanwhile the heartbeat keeps
// the notice claimed, and other consumers hold off taking over notices after Redis
// fails (see mayReclaim). It gives up only when the record is gone, or recordGrace after
// the process began to stop.
func (n *Notifier) recordPosted(ctx context.Context, log zerolog.Logger, intentID, status, ts, current string, event *store.AuditEvent) (audited bool) {
	var giveUpAt time.Time
	wait := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
		var err error
		if attempt == 1 && event != nil {
			audited, err = n.store.NoticePosted(sctx, intentID, status, ts, current, *event)
		} else {
			err = n.store.SetNoticePosted(sctx, intentID, status, ts, current)
		}
		cancel()
		switch {
		case err == nil:
			if attempt > 1 {
				log.Info().Int("attempts", attempt).Msg("notice posted earlier now recorded")
			}
			return audited
		case errors.Is(err, store.ErrNotFound):
			log.Warn().Msg("notice posted, but the link record is gone: not recorded")
			return audited
		}
		n.redisFailed()
		if attempt == 1 {
			log.Warn().Err(err).Msg("notice posted but not yet recorded: trying again until Redis takes it")
		}
		if ctx.Err() != nil {
			if giveUpAt.IsZero() {
				giveUpAt = n.clock.Now().Add(recordGrace)
			} else if n.clock.Now().After(giveUpAt) {
				log.Error().Err(err).Msg("stopping with a notice posted but not recorded: it may be posted again")
				return audited
			}
		}
		n.clock.Sleep(wait)
		wait = min(wait*2, n.recordPause())
	}
}

// recordTimeout bounds one attempt to record a posted notice.
const recordTimeout = 5 * time.Second

// recordPause is the longest pause between two attempts to record a posted notice.
func (n *Notifier) recordPause() time.Duration { return min(time.Second, n.cfg.ClaimIdle/4) }

// redisFailed notes that a Redis call failed just now.
func (n *Notifier) redisFailed() { n.lastRedisErr.Store(n.clock.Now().UnixNano()) }

// mayReclaim reports whether notices held by silent consumers may be taken over: only
// once Redis has worked here for reclaimQuiet since it last failed. A consumer that
// posted a notice while Redis was down is then still trying to record it; its notice
// looks idle only because Redis could not hear from it, and taking it over would post
// it twice.
func (n *Notifier) mayReclaim() bool {
	last := n.lastRedisErr.Load()
	return last == 0 || n.clock.Now().Sub(time.Unix(0, last)) >= n.reclaimQuiet()
}

// reclaimQuiet is how long Redis must have worked here before notices are taken over:
// as long as another consumer may still be in one attempt to record a notice it posted
// (an attempt begun while Redis was failing can hang for recordTimeout: a failover, a
// dead connection) and its pause before the next, which then succeeds, and ClaimIdle
// more, in which that consumer's heartbeat renews its claims.
func (n *Notifier) reclaimQuiet() time.Duration {
	return recordTimeout + n.recordPause() + n.cfg.ClaimIdle
}

// post calls chat.postMessage and returns the message's ts, waiting out a rate limit
// of up to MaxWait in place.
func (n *Notifier) post(ctx context.Context, msg slackout.Message) (string, error) {
	var ts string
	cut, err := n.rateLimit().Do(ctx, func() (err error) {
		_, ts, err = n.chat.Post(ctx, msg)
		n.m.SlackError("chat.postMessage", err)
		return err
	})
	if cut {
		return "", ctx.Err()
	}
	return ts, err
}

// rateLimit is how the notifier waits out Slack's rate limit: in place up to MaxWait,
// holding the notice claimed; a longer wait is scheduled as a retry instead.
func (n *Notifier) rateLimit() slackout.RateLimit {
	return slackout.RateLimit{MaxWait: n.cfg.MaxWait, MinWait: 100 * time.Millisecond, Clock: n.clock, OnWait: func(d time.Duration) {
		n.log.Info().Dur("retry_after", d).Msg("Slack rate limit: waiting")
	}}
}

// classify turns a Slack failure into what to do with the notice.
func (n *Notifier) classify(log zerolog.Logger, err error) outcome {
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return holdFor("Slack rate limit", rl.RetryAfter)
	}
	code := slackout.ErrorCode(err)
	switch code {
	case "invalid_auth", "token_revoked", "account_inactive", "not_authed", "token_expired", "missing_scope", "not_allowed_token_type":
		log.Error().Str("slack_error", code).Msg("Slack refuses paylink's token: notices are held until it is fixed")
		return outcome{kind: retry, reason: "Slack token refused: " + code}
	case "channel_not_found", "not_in_channel", "is_archived", "user_not_found", "cannot_dm_bot", "msg_too_long", "invalid_blocks", "no_text", "invalid_arguments":
		return giveUp("Slack refused the notice: " + code)
	}
	return retryLater("Slack: " + code)
}

// updateCard shows the link's new status on the link message. Best effort: the notice
// in the thread is what matters.
func (n *Notifier) updateCard(ctx context.Context, log zerolog.Logger, link *store.Link, status string) {
	shown := *link
	shown.Status = status
	if shown.StatusAt.IsZero() || link.Status != status {
		shown.StatusAt = n.clock.Now()
	}
	text, blocks := slackout.Card(&shown, n.checkout)
	policy := n.rateLimit()
	policy.Attempts, policy.OnWait = 3, nil
	cut, err := policy.Do(ctx, func() error {
		err := n.chat.Update(ctx, slackout.Message{Channel: link.MessageChannel, TS: link.MessageTS, Text: text, Blocks: blocks})
		n.m.SlackError("chat.update", err)
		return err
	})
	if err != nil && !cut {
		log.Warn().Str("slack_error", slackout.ErrorCode(err)).Msg("could not update the link message")
	}
}

// sleep waits d by clock or until ctx ends; it reports whether the full wait passed.
func sleep(ctx context.Context, clock clockwork.Clock, d time.Duration) bool {
	t := clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.Chan():
		return true
	}
}

// revokedFor is how long a notifier trusts what it read of a workspace's token being
// revoked: a notice does not cost a Redis round trip more for it.
const revokedFor = 2 * time.Second

type revokedEntry struct {
	why string
	at  time.Time
}

// revokedWhy says why a workspace's token no longer works ("" when it does, or when
// Redis could not say), as read at most revokedFor ago.
func (n *Notifier) revokedWhy(ctx context.Context, team string) string {
	now := n.clock.Now()
	n.revokedMu.Lock()
	e, ok := n.revoked[team]
	n.revokedMu.Unlock()
	if ok && now.Sub(e.at) < revokedFor {
		return e.why
	}
	why, err := n.store.Revoked(ctx, team)
	if err != nil {
		return ""
	}
	n.revokedMu.Lock()
	defer n.revokedMu.Unlock()
	if n.revoked == nil || len(n.revoked) > 10000 {
		n.revoked = map[string]revokedEntry{}
	}
	n.revoked[team] = revokedEntry{why: why, at: now}
	return why
}
