package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// auditMaxLen caps the audit stream (approximately).
const auditMaxLen = 100000

func (s *Store) auditKey() string { return s.prefix + "{events}:audit" }

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

func (s *Store) auditArgs(e AuditEvent) *redis.XAddArgs {
	return &redis.XAddArgs{
		Stream: s.auditKey(), MaxLen: auditMaxLen, Approx: true,
		Values: []any{"event", e.Event, "team", e.Team, "channel", e.Channel, "user", e.User,
			"amount", strconv.FormatInt(e.Amount, 10), "currency", e.Currency, "reference", e.Reference,
			"intent", e.Intent, "detail", e.Detail},
	}
}

// Audit appends e to the capped audit stream. One round trip.
func (s *Store) Audit(ctx context.Context, e AuditEvent) error {
	err := s.rdb.XAdd(ctx, s.auditArgs(e)).Err()
	if err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	return nil
}

// AuditSince returns the audit trail from since on, oldest first.
func (s *Store) AuditSince(ctx context.Context, since time.Time) ([]AuditEvent, error) {
	msgs, err := s.rdb.XRange(ctx, s.auditKey(), strconv.FormatInt(since.UnixMilli(), 10), "+").Result()
	if err != nil {
		return nil, fmt.Errorf("store: read audit: %w", err)
	}
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

// LinkPosted records where the link message was posted (as SetLinkMessage) and appends
// the audit event of the link's creation, in one round trip.
func (s *Store) LinkPosted(ctx context.Context, intentID, channel, ts string, created AuditEvent) error {
	pipe := s.rdb.Pipeline()
	set := hsetIfExists.Eval(ctx, pipe, []string{s.linkKey(intentID)}, fMsgChannel, channel, fMsgTS, ts)
	pipe.XAdd(ctx, s.auditArgs(created))
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("store: link posted %s: %w", intentID, err)
	}
	if n, _ := set.Int(); n == 0 {
		return ErrNotFound
	}
	return nil
}
