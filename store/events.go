package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Keys of the notification flow. They all share the hash tag {events}, so the step that
// records a status and queues its notice, and the steps that move notices between the
// stream, the retry schedule and the dead-letter stream, are single-slot on Redis
// Cluster.
func (s *Store) statusKey(intentID string) string { return s.prefix + "{events}:status:" + intentID }
func (s *Store) streamKey() string                { return s.prefix + "{events}:notify" }
func (s *Store) retryKey() string                 { return s.prefix + "{events}:retry" }
func (s *Store) deadKey() string                  { return s.prefix + "{events}:dead" }
func (s *Store) openKey() string                  { return s.prefix + "{events}:open" }
func (s *Store) lockKey(name string) string       { return s.prefix + "{events}:lock:" + name }

// NotifyGroup is the consumer group that delivers notifications.
const NotifyGroup = "notifiers"

// streamMaxLen bounds the notification stream (approximately); acknowledged entries
// beyond it are trimmed. Pending entries are far fewer.
const streamMaxLen = 100000

// StatusExpired is paylink's own status for a link Dojo voided unpaid at its expiry.
const StatusExpired = "Expired"

// statusRank orders statuses so a late event never moves a link back: a late Created
// after Captured is recorded as seen but changes nothing.
var statusRank = map[string]int{
	"Created": 0, "Authorized": 1, "Captured": 2, "Canceled": 2, "Expired": 2, "Reversed": 3, "Refunded": 3,
}

// Notifies reports whether a status change is announced in Slack. Created and
// Authorized are not: nothing has happened that the agent must act on.
func Notifies(status string) bool {
	switch status {
	case "Captured", "Canceled", "Expired", "Reversed", "Refunded":
		return true
	}
	return false
}

// Closed reports whether a link in status can no longer be paid.
func Closed(status string) bool { return terminal(status) }

// terminal statuses close a link: it leaves the reconciliation set.
func terminal(status string) bool {
	return status == "Captured" || status == "Canceled" || status == "Expired" || status == "Reversed" || status == "Refunded"
}

// recordStatus applies one status change once. KEYS[1] the intent's status hash,
// KEYS[2] the stream, KEYS[3] the open-links set, KEYS[4] the reference's open set (or
// the unused key), KEYS[5] the day's counters, KEYS[6] the day's agents, KEYS[7] the
// day's workspaces (the last three the unused key when nothing is counted). ARGV:
// status, rank, notify (0/1), terminal (0/1), intent, event id, source, now ms, ttl ms,
// maxlen, counted kind (empty: none), currency, amount, agent (empty: none), counter
// ttl ms, team.
// The hash holds status → first-seen ms, and "_rank"/"_current" for the furthest status.
// Returns {recorded (0/1), current status}.
var recordStatus = redis.NewScript(countLua + `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  return {0, redis.call('HGET', KEYS[1], '_current') or ''}
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[8])
local rank = tonumber(redis.call('HGET', KEYS[1], '_rank') or '-1')
if tonumber(ARGV[2]) > rank then
  redis.call('HSET', KEYS[1], '_rank', ARGV[2], '_current', ARGV[1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[9])
if ARGV[4] == '1' then
  redis.call('ZREM', KEYS[3], ARGV[5])
  redis.call('ZREM', KEYS[4], ARGV[5])
end
if ARGV[3] == '1' then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[10], '*',
    'intent', ARGV[5], 'status', ARGV[1], 'event', ARGV[6], 'source', ARGV[7], 'at', ARGV[8], 'attempt', '1')
end
if ARGV[11] ~= '' then
  cnt(KEYS[5], KEYS[6], KEYS[7], ARGV[11], ARGV[12], ARGV[13], ARGV[14], ARGV[15], ARGV[16])
end
return {1, redis.call('HGET', KEYS[1], '_current')}`)

// StatusEvent is a status an intent reached, and where it was heard of.
type StatusEvent struct {
	IntentID string
	Status   string
	EventID  string // Dojo's event id, or a name for the step that found it
	Source   string // "webhook", "reconcile", "refresh", "slack"
	// Origin is the link's workspace and reference, when known: a link that closes
	// frees its reference for a new link. With its currency, the change is counted in
	// the workspace's counters for today.
	Origin Origin
}

// StatusChange is the outcome of RecordStatus.
type StatusChange struct {
	Recorded bool   // first time this (intent, status) was seen
	Queued   bool   // a notification was queued
	Current  string // the intent's furthest status so far
}

// RecordStatus records that an intent reached a status, once per (intent, status),
// and in the same atomic step queues a notification when the status is announced. A
// redelivered or reordered event records and queues nothing. In the same step a paid,
// canceled, expired or refunded link is counted in its workspace's counters for the
// day (see DayTotals), when e.Origin names the workspace and currency. One round trip; with
// MinReplicas, it returns only once replicas hold the change (ErrNotReplicated
// otherwise: the caller answers so that the event is delivered again).
func (s *Store) RecordStatus(ctx context.Context, e StatusEvent) (StatusChange, error) {
	rank, ok := statusRank[e.Status]
	if !ok {
		return StatusChange{}, fmt.Errorf("store: unknown status %q", e.Status)
	}
	notify := Notifies(e.Status)
	refKey := s.unusedKey()
	if e.Origin.Reference != "" {
		refKey = s.refOpenKey(e.Origin.Team, e.Origin.Reference)
	}
	now := s.now()
	kind, agent := countedKind(e.Status), ""
	dayKey, agentsKey, teamsKey := s.unusedKey(), s.unusedKey(), s.unusedKey()
	if e.Origin.Team == "" || e.Origin.Currency == "" {
		kind = ""
	}
	if kind != "" {
		day := s.Day(now)
		dayKey, teamsKey = s.dayKey(e.Origin.Team, day), s.dayTeamsKey(day)
		if kind == KindPaid && e.Origin.User != "" {
			agentsKey, agent = s.agentsKey(e.Origin.Team, day), e.Origin.User
		}
	}
	amount := e.Origin.Amount
	if kind == KindRefunded {
		// A refunded link is counted here; the money returned, which a partial refund
		// makes less than the amount, by countReturned.
		amount = 0
	}
	cmd, err := s.runScript(ctx, recordStatus,
		[]string{s.statusKey(e.IntentID), s.streamKey(), s.openKey(), refKey, dayKey, agentsKey, teamsKey},
		e.Status, rank, b2s(notify), b2s(terminal(e.Status)), e.IntentID, e.EventID, e.Source,
		now.UnixMilli(), s.linkTTL.Milliseconds(), streamMaxLen,
		kind, e.Origin.Currency, amount, agent, CounterTTL.Milliseconds(), e.Origin.Team)
	if err != nil {
		return StatusChange{}, fmt.Errorf("store: record status %s %s: %w", e.IntentID, e.Status, err)
	}
	res, err := cmd.Slice()
	if err != nil {
		return StatusChange{}, fmt.Errorf("store: record status %s %s: %w", e.IntentID, e.Status, err)
	}
	recorded := res[0].(int64) == 1
	current, _ := res[1].(string)
	if e.Status == "Reversed" && kind != "" {
		// A reversal returns the whole amount.
		if err := s.countReturned(ctx, e.IntentID, e.Origin, e.Origin.Amount); err != nil {
			return StatusChange{}, err
		}
	}
	return StatusChange{Recorded: recorded, Queued: recorded && notify, Current: current}, nil
}

func b2s(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// Notification is one queued status notice.
type Notification struct {
	EntryID  string // the stream entry
	IntentID string
	Status   string
	EventID  string
	Source   string // "webhook" or "reconcile"
	At       time.Time
	Attempt  int // 1 for the first try
	// Deliveries is how many times the stream handed this entry out (a dead consumer's
	// entries are handed out again).
	Deliveries int64
}

func notificationFrom(m redis.XMessage) Notification {
	str := func(k string) string { v, _ := m.Values[k].(string); return v }
	at, _ := strconv.ParseInt(str("at"), 10, 64)
	attempt, _ := strconv.Atoi(str("attempt"))
	return Notification{
		EntryID:  m.ID,
		IntentID: str("intent"),
		Status:   str("status"),
		EventID:  str("event"),
		Source:   str("source"),
		At:       time.UnixMilli(at).UTC(),
		Attempt:  max(attempt, 1),
	}
}

func (n Notification) values() []any {
	return []any{"intent", n.IntentID, "status", n.Status, "event", n.EventID, "source", n.Source,
		"at", strconv.FormatInt(n.At.UnixMilli(), 10), "attempt", strconv.Itoa(n.Attempt)}
}

// EnsureGroup creates the notification stream and its consumer group if they don't
// exist yet. Safe to call from every replica.
func (s *Store) EnsureGroup(ctx context.Context) error {
	err := s.rdb.XGroupCreateMkStream(ctx, s.streamKey(), NotifyGroup, "0").Err()
	if err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("store: create consumer group: %w", err)
	}
	return nil
}

// ReadNotifications hands up to count new notifications to consumer, waiting up to block
// for the first. It first acknowledges the entries in delivered, notifications consumer
// has delivered since its last read: when new ones are waiting, in the same round trip.
func (s *Store) ReadNotifications(ctx context.Context, consumer string, count int, block time.Duration, delivered ...string) ([]Notification, error) {
	read := &redis.XReadGroupArgs{
		Group: NotifyGroup, Consumer: consumer, Streams: []string{s.streamKey(), ">"},
		Count: int64(count), Block: block,
	}
	if len(delivered) > 0 {
		// A blocking read can't share a pipeline (its wait would run into the read
		// timeout): acknowledge and look without waiting, then wait only if nothing came.
		pipe := s.rdb.Pipeline()
		pipe.XAck(ctx, s.streamKey(), NotifyGroup, delivered...)
		pipe.XDel(ctx, s.streamKey(), delivered...)
		now := *read
		now.Block = -1
		ready := pipe.XReadGroup(ctx, &now)
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, s.readFailed(ctx, err)
		}
		if len(ready.Val()) > 0 {
			return notifications(ready.Val()), nil
		}
	}
	res, err := s.rdb.XReadGroup(ctx, read).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, s.readFailed(ctx, err)
	}
	return notifications(res), nil
}

// readFailed makes the consumer group again if it is gone, and returns the error.
func (s *Store) readFailed(ctx context.Context, err error) error {
	if strings.Contains(err.Error(), "NOGROUP") {
		if gerr := s.EnsureGroup(ctx); gerr != nil {
			return gerr
		}
	}
	return fmt.Errorf("store: read notifications: %w", err)
}

// notifications are the new entries an XREADGROUP handed out.
func notifications(res []redis.XStream) []Notification {
	var out []Notification
	for _, st := range res {
		for _, m := range st.Messages {
			n := notificationFrom(m)
			n.Deliveries = 1
			out = append(out, n)
		}
	}
	return out
}

// ClaimStale takes over, for consumer, notifications another consumer has held idle
// for at least minIdle: that consumer died, or lost Redis. Up to count.
func (s *Store) ClaimStale(ctx context.Context, consumer string, minIdle time.Duration, count int) ([]Notification, error) {
	msgs, _, err := s.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
		Stream: s.streamKey(), Group: NotifyGroup, Consumer: consumer,
		MinIdle: minIdle, Start: "0-0", Count: int64(count),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("store: claim stale notifications: %w", err)
	}
	if len(msgs) == 0 {
		return nil, nil
	}
	out := make([]Notification, 0, len(msgs))
	ids := make([]string, 0, len(msgs))
	for _, m := range msgs {
		n := notificationFrom(m)
		out = append(out, n)
		ids = append(ids, m.ID)
	}
	// How often each was handed out: a notice that keeps killing its consumer must end.
	pend, err := s.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{
		Stream: s.streamKey(), Group: NotifyGroup, Start: ids[0], End: ids[len(ids)-1], Count: int64(len(ids) * 4), Consumer: consumer,
	}).Result()
	if err == nil {
		counts := map[string]int64{}
		for _, p := range pend {
			counts[p.ID] = p.RetryCount
		}
		for i := range out {
			out[i].Deliveries = counts[out[i].EntryID]
		}
	}
	return out, nil
}

// PruneConsumers removes from the consumer group the consumers that hold nothing and
// have been idle for longer than idle: those of processes that stopped. It returns how
// many it removed.
func (s *Store) PruneConsumers(ctx context.Context, idle time.Duration) (int, error) {
	consumers, err := s.rdb.XInfoConsumers(ctx, s.streamKey(), NotifyGroup).Result()
	if err != nil {
		return 0, fmt.Errorf("store: list consumers: %w", err)
	}
	removed := 0
	for _, c := range consumers {
		if c.Pending > 0 || c.Idle < idle {
			continue
		}
		// XGROUP DELCONSUMER returns the entries it dropped: none, as it held nothing.
		if err := s.rdb.XGroupDelConsumer(ctx, s.streamKey(), NotifyGroup, c.Name).Err(); err != nil {
			return removed, fmt.Errorf("store: remove consumer: %w", err)
		}
		removed++
	}
	return removed, nil
}

// Touch resets the idle time of notifications consumer is still working on (waiting out
// a rate limit, say), so no other consumer takes them over.
func (s *Store) Touch(ctx context.Context, consumer string, entryIDs ...string) error {
	if len(entryIDs) == 0 {
		return nil
	}
	return s.rdb.XClaimJustID(ctx, &redis.XClaimArgs{
		Stream: s.streamKey(), Group: NotifyGroup, Consumer: consumer, MinIdle: 0, Messages: entryIDs,
	}).Err()
}

// Ack marks a notification delivered.
func (s *Store) Ack(ctx context.Context, entryID string) error {
	pipe := s.rdb.Pipeline()
	pipe.XAck(ctx, s.streamKey(), NotifyGroup, entryID)
	pipe.XDel(ctx, s.streamKey(), entryID)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("store: ack notification: %w", err)
	}
	return nil
}

// moveToRetry acknowledges a stream entry and schedules its next attempt in one step.
// KEYS[1] stream, KEYS[2] retry set; ARGV entry id, due ms, member.
var moveToRetry = redis.NewScript(`
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('XACK', KEYS[1], '` + NotifyGroup + `', ARGV[1])
redis.call('XDEL', KEYS[1], ARGV[1])
return 1`)

// Retry schedules another attempt of n at due, counting an attempt when count is set,
// and acknowledges its current entry, in one atomic step.
func (s *Store) Retry(ctx context.Context, n Notification, due time.Time, count bool) error {
	next := n
	if count {
		next.Attempt++
	}
	member := encodeMember(next)
	if err := moveToRetry.Run(ctx, s.rdb, []string{s.streamKey(), s.retryKey()}, n.EntryID, due.UnixMilli(), member).Err(); err != nil {
		return fmt.Errorf("store: schedule retry: %w", err)
	}
	return nil
}

// encodeMember writes a notification as a retry-set member. The entry id and the time
// keep members unique.
func encodeMember(n Notification) string {
	return strings.Join([]string{n.IntentID, n.Status, n.EventID, n.Source, strconv.FormatInt(n.At.UnixMilli(), 10), strconv.Itoa(n.Attempt), n.EntryID}, "\x1f")
}

// promoteDue moves due retries back into the stream. KEYS[1] retry set, KEYS[2] stream;
// ARGV now ms, limit, maxlen. Returns how many moved.
var promoteDue = redis.NewScript(`
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, m in ipairs(due) do
  local f = {}
  for part in string.gmatch(m .. '\31', '([^\31]*)\31') do table.insert(f, part) end
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*',
    'intent', f[1], 'status', f[2], 'event', f[3], 'source', f[4], 'at', f[5], 'attempt', f[6])
  redis.call('ZREM', KEYS[1], m)
end
return #due`)

// PromoteDue moves retries whose time has come back into the stream. Safe on every
// replica at once: each retry moves once.
func (s *Store) PromoteDue(ctx context.Context, limit int) (int, error) {
	n, err := promoteDue.Run(ctx, s.rdb, []string{s.retryKey(), s.streamKey()}, s.now().UnixMilli(), limit, streamMaxLen).Int()
	if err != nil {
		return 0, fmt.Errorf("store: promote retries: %w", err)
	}
	return n, nil
}

// deadLetter moves an entry to the dead-letter stream. KEYS[1] stream, KEYS[2] dead;
// ARGV entry id, reason, then the notification's field/value pairs.
var deadLetter = redis.NewScript(`
redis.call('XADD', KEYS[2], 'MAXLEN', '~', '10000', '*', 'reason', ARGV[2], 'entry', ARGV[1], unpack(ARGV, 3))
redis.call('XACK', KEYS[1], '` + NotifyGroup + `', ARGV[1])
redis.call('XDEL', KEYS[1], ARGV[1])
return 1`)

// DeadLetter gives up on n: it moves to the dead-letter stream with the reason, in one
// atomic step with its acknowledgement.
func (s *Store) DeadLetter(ctx context.Context, n Notification, reason string) error {
	args := append([]any{n.EntryID, reason}, n.values()...)
	if err := deadLetter.Run(ctx, s.rdb, []string{s.streamKey(), s.deadKey()}, args...).Err(); err != nil {
		return fmt.Errorf("store: dead-letter: %w", err)
	}
	return nil
}

// DeadLetters returns the dead-lettered notifications, oldest first, with their reasons.
func (s *Store) DeadLetters(ctx context.Context) ([]map[string]string, error) {
	msgs, err := s.rdb.XRange(ctx, s.deadKey(), "-", "+").Result()
	if err != nil {
		return nil, err
	}
	out := make([]map[string]string, 0, len(msgs))
	for _, m := range msgs {
		row := map[string]string{"id": m.ID}
		for k, v := range m.Values {
			row[k], _ = v.(string)
		}
		out = append(out, row)
	}
	return out, nil
}

// Backlog is the notification work not yet done.
type Backlog struct {
	Pending   int64 // handed to a consumer, not yet acknowledged
	Scheduled int64 // waiting for a retry
	Dead      int64 // given up on
}

// Backlog counts pending, scheduled and dead-lettered notifications.
func (s *Store) Backlog(ctx context.Context) (Backlog, error) {
	pipe := s.rdb.Pipeline()
	p := pipe.XPending(ctx, s.streamKey(), NotifyGroup)
	z := pipe.ZCard(ctx, s.retryKey())
	d := pipe.XLen(ctx, s.deadKey())
	_, err := pipe.Exec(ctx)
	if err != nil && !errors.Is(err, redis.Nil) && !strings.Contains(err.Error(), "NOGROUP") {
		return Backlog{}, err
	}
	var b Backlog
	if pp, err := p.Result(); err == nil {
		b.Pending = pp.Count
	}
	b.Scheduled = z.Val()
	b.Dead = d.Val()
	return b, nil
}

// OpenLink is a link not known to be closed, and the cursor that continues after it.
type OpenLink struct {
	IntentID string
	Cursor   string
}

// OpenLinks returns up to limit links not known to be closed, created after since,
// oldest first, starting after cursor ("" for the oldest), and the cursor that
// continues after them: "" when the page reached the newest. Links older than since
// leave the set. One round trip.
func (s *Store) OpenLinks(ctx context.Context, since time.Time, cursor string, limit int) ([]OpenLink, string, error) {
	min := strconv.FormatInt(since.UnixMilli(), 10)
	var afterScore int64
	afterID := ""
	if sc, id, ok := strings.Cut(cursor, ":"); ok {
		if ms, err := strconv.ParseInt(sc, 10, 64); err == nil && ms > since.UnixMilli() {
			min, afterScore, afterID = sc, ms, id
		}
	}
	// Members that share the cursor's score come first; skip those at or before it.
	const slack = 64
	pipe := s.rdb.Pipeline()
	pipe.ZRemRangeByScore(ctx, s.openKey(), "-inf", "("+strconv.FormatInt(since.UnixMilli(), 10))
	page := pipe.ZRangeByScoreWithScores(ctx, s.openKey(), &redis.ZRangeBy{Min: min, Max: "+inf", Count: int64(limit + slack)})
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, "", fmt.Errorf("store: open links: %w", err)
	}
	var out []OpenLink
	for _, z := range page.Val() {
		id, _ := z.Member.(string)
		score := int64(z.Score)
		if afterID != "" && score == afterScore && id <= afterID {
			continue
		}
		if len(out) == limit {
			break
		}
		out = append(out, OpenLink{IntentID: id, Cursor: strconv.FormatInt(score, 10) + ":" + id})
	}
	if len(out) < limit || len(page.Val()) < limit {
		return out, "", nil
	}
	return out, out[len(out)-1].Cursor, nil
}

// reconcileCursorKey is where the reconciliation left off.
func (s *Store) reconcileCursorKey() string { return s.prefix + "{events}:reconcile:cursor" }

// ReconcileCursor returns where the last reconciliation run left off ("" for the
// start).
func (s *Store) ReconcileCursor(ctx context.Context) (string, error) {
	v, err := s.rdb.Get(ctx, s.reconcileCursorKey()).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: reconcile cursor: %w", err)
	}
	return v, nil
}

// SetReconcileCursor records where the reconciliation left off; it is kept as long as
// an open link can live.
func (s *Store) SetReconcileCursor(ctx context.Context, cursor string) error {
	if err := s.rdb.Set(ctx, s.reconcileCursorKey(), cursor, 31*24*time.Hour).Err(); err != nil {
		return fmt.Errorf("store: set reconcile cursor: %w", err)
	}
	return nil
}

// TryLock takes the named lock for ttl unless another holder has it. token identifies
// the holder for ExtendLock.
func (s *Store) TryLock(ctx context.Context, name, token string, ttl time.Duration) (bool, error) {
	ok, err := s.rdb.SetNX(ctx, s.lockKey(name), token, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("store: lock %s: %w", name, err)
	}
	return ok, nil
}

// extendLock sets a lock's TTL while the caller still holds it, or releases it for a
// TTL of 0. KEYS[1] the lock; ARGV token, TTL ms. Returns 1 if held, 0 if not.
var extendLock = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if tonumber(ARGV[2]) <= 0 then
  redis.call('DEL', KEYS[1])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1`)

// ExtendLock sets the named lock's TTL to ttl from now if token still holds it (a ttl
// of 0 or less releases it), and reports whether it did. A holder that learns it lost
// the lock must stop.
func (s *Store) ExtendLock(ctx context.Context, name, token string, ttl time.Duration) (bool, error) {
	n, err := extendLock.Run(ctx, s.rdb, []string{s.lockKey(name)}, token, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("store: extend lock %s: %w", name, err)
	}
	return n == 1, nil
}
