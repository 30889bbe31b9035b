package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The audit trail is two streams. Money events (a link created, canceled, paid,
// refunded, reversed or expired) are kept by age, AuditRetention, whatever else
// happens; refusals, which anyone in the workspace can cause at will, live in their own
// stream, capped by count, so they can never push a money event out.
const (
	// AuditRetention is how long money events are kept.
	AuditRetention = 400 * 24 * time.Hour
	// refusalsMaxLen caps the refusals stream (approximately).
	refusalsMaxLen = 100000
	// RefusalWindow and RefusalLimit bound what one user's refusals write: the same
	// refusal again within the window is not written again, and a user's refusals
	// beyond the limit within the window are not written at all (they are still logged
	// and answered).
	RefusalWindow = time.Minute
	RefusalLimit  = 20
)

func (s *Store) auditKey() string    { return s.prefix + "{events}:audit" }
func (s *Store) refusalsKey() string { return s.prefix + "{events}:audit:refusals" }

// refusalKeys are the keys that fold one user's refusals: the same refusal, and all of
// the user's.
func (s *Store) refusalKeys(e AuditEvent) (same, user string) {
	h := sha256.Sum256([]byte(strings.Join([]string{e.Team, e.User, e.Channel, e.Detail, e.Reference,
		strconv.FormatInt(e.Amount, 10), e.Currency, e.Intent}, "\x00")))
	return s.prefix + "{events}:refused:" + hex.EncodeToString(h[:12]),
		s.prefix + "{events}:refusals:" + e.Team + ":" + e.User
}

// AuditEvent is one entry of the audit trail.
type AuditEvent struct {
	At        time.Time // set by Redis when written
	Event     string    // created, canceled, paid, refunded, reversed, expired, refused
	Team      string
	Channel   string
	User      string // who acted
	Amount    int64  // minor units
	Currency  string
	Reference string
	Intent    string
	Detail    string // why, for refusals
}

func (e AuditEvent) values() []any {
	return []any{"event", e.Event, "team", e.Team, "channel", e.Channel, "user", e.User,
		"amount", strconv.FormatInt(e.Amount, 10), "currency", e.Currency, "reference", e.Reference,
		"intent", e.Intent, "detail", e.Detail}
}

// moneyArgs adds a money event, trimming events older than AuditRetention.
func (s *Store) moneyArgs(e AuditEvent) *redis.XAddArgs {
	return &redis.XAddArgs{
		Stream: s.auditKey(), MinID: strconv.FormatInt(s.now().Add(-AuditRetention).UnixMilli(), 10),
		Values: e.values(),
	}
}

// auditRefusal writes a refusal unless the same one was written within the window, or
// the user's refusals in the window have reached the limit. KEYS: refusals stream, the
// same-refusal key, the user's count. ARGV: window ms, limit, maxlen, then the event's
// field/value pairs. Returns {written (0/1), the user's refusals in the window}.
var auditRefusal = redis.NewScript(`
local n = redis.call('INCR', KEYS[3])
if n == 1 then redis.call('PEXPIRE', KEYS[3], ARGV[1]) end
if n > tonumber(ARGV[2]) then return {0, n} end
if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[1]) then return {0, n} end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', unpack(ARGV, 4))
return {1, n}`)

// Audit appends e to the audit trail. One round trip. A refusal is written at most once
// per RefusalWindow for the same user and reason, and not at all once the user has
// RefusalLimit refusals in the window.
func (s *Store) Audit(ctx context.Context, e AuditEvent) error {
	if e.Event != "refused" {
		if err := s.rdb.XAdd(ctx, s.moneyArgs(e)).Err(); err != nil {
			return fmt.Errorf("store: audit: %w", err)
		}
		return nil
	}
	same, user := s.refusalKeys(e)
	args := append([]any{RefusalWindow.Milliseconds(), RefusalLimit, refusalsMaxLen}, e.values()...)
	if err := auditRefusal.Run(ctx, s.rdb, []string{s.refusalsKey(), same, user}, args...).Err(); err != nil {
		return fmt.Errorf("store: audit refusal: %w", err)
	}
	return nil
}

// AuditSince returns the audit trail, money events and refusals, from since on, oldest
// first.
func (s *Store) AuditSince(ctx context.Context, since time.Time) ([]AuditEvent, error) {
	start := strconv.FormatInt(since.UnixMilli(), 10)
	pipe := s.rdb.Pipeline()
	money := pipe.XRange(ctx, s.auditKey(), start, "+")
	refusals := pipe.XRange(ctx, s.refusalsKey(), start, "+")
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("store: read audit: %w", err)
	}
	msgs := append(money.Val(), refusals.Val()...)
	out := make([]AuditEvent, 0, len(msgs))
	for _, m := range msgs {
		str := func(k string) string { v, _ := m.Values[k].(string); return v }
		ms, _ := strconv.ParseInt(m.ID[:max(0, indexByte(m.ID, '-'))], 10, 64)
		amount, _ := strconv.ParseInt(str("amount"), 10, 64)
		out = append(out, AuditEvent{
			At: time.UnixMilli(ms).UTC(), Event: str("event"), Team: str("team"), Channel: str("channel"),
			User: str("user"), Amount: amount, Currency: str("currency"), Reference: str("reference"),
			Intent: str("intent"), Detail: str("detail"),
		})
	}
	slices.SortStableFunc(out, func(a, b AuditEvent) int { return a.At.Compare(b.At) })
	return out, nil
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return len(s)
}

// LinkPosted records where the link message was posted (channel and ts empty: that it
// could not be), which ends the link's CardPending, and appends the audit event of the
// link's creation, in one round trip.
func (s *Store) LinkPosted(ctx context.Context, intentID, channel, ts string, created AuditEvent) error {
	pipe := s.rdb.Pipeline()
	set := hsetIfExists.Eval(ctx, pipe, []string{s.linkKey(intentID)}, fMsgChannel, channel, fMsgTS, ts, fCardPending, "false")
	pipe.XAdd(ctx, s.moneyArgs(created))
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("store: link posted %s: %w", intentID, err)
	}
	if n, _ := set.Int(); n == 0 {
		return ErrNotFound
	}
	return nil
}
