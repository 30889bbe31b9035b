package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// A link's refunds live in its own record (the hash link:{<intent>}), so every step
// below is one script on one key, in the intent's slot on Redis Cluster:
//
//	refunded       what paylink refunded (or reversed), in minor units
//	refund_held    what refunds under way have reserved
//	dojo_refunded  the most Dojo has reported refunded (refunds made in its dashboard too)
//	refund:<key>   one refund: its state, kind, amount, who, when, Dojo's id, the reason
//
// What is left to refund is the amount less the larger of refunded and dojo_refunded,
// less refund_held.
const (
	fRefunded     = "refunded"
	fRefundHeld   = "refund_held"
	fDojoRefunded = "dojo_refunded"
	fRefundPrefix = "refund:"
)

// Kinds of refund.
const (
	KindRefund   = "refund"   // POST /payment-intents/{id}/refunds: any amount up to what is left
	KindReversal = "reversal" // POST /payment-intents/{id}/reversal: the whole amount, on the day
)

// Refund is one refund made from Slack.
type Refund struct {
	Key    string // its idempotency key
	Kind   string // KindRefund or KindReversal
	Amount int64  // minor units
	User   string // who asked for it
	At     time.Time
	Done   bool   // Dojo made it; until then it holds its amount
	DojoID string // Dojo's refund or reversal id, once done
	Reason string
}

func (r Refund) encode() string {
	state := "held"
	if r.Done {
		state = "done"
	}
	return strings.Join([]string{state, r.Kind, strconv.FormatInt(r.Amount, 10), r.User,
		strconv.FormatInt(r.At.UnixMilli(), 10), r.DojoID, r.Reason}, "\x1f")
}

func decodeRefund(key, v string) (Refund, bool) {
	f := strings.SplitN(v, "\x1f", 7)
	if len(f) != 7 {
		return Refund{}, false
	}
	amount, err := strconv.ParseInt(f[2], 10, 64)
	ms, err2 := strconv.ParseInt(f[4], 10, 64)
	if err != nil || err2 != nil {
		return Refund{}, false
	}
	return Refund{Key: key, Done: f[0] == "done", Kind: f[1], Amount: amount, User: f[3],
		At: time.UnixMilli(ms).UTC(), DojoID: f[5], Reason: f[6]}, true
}

// Refunds is what has been refunded of a link.
type Refunds struct {
	Refunded int64 // by paylink, done
	Held     int64 // reserved by refunds under way
	AtDojo   int64 // the most Dojo has reported refunded, wherever it was done
	Entries  []Refund
}

// Total is what is known to be refunded: paylink's refunds, or what Dojo reported if
// that is more (a refund made in Dojo's dashboard).
func (r Refunds) Total() int64 { return max(r.Refunded, r.AtDojo) }

// FromSlack reports whether a refund of kind was made, or is being made, from Slack.
func (r Refunds) FromSlack(kind string) bool {
	return slices.ContainsFunc(r.Entries, func(e Refund) bool { return e.Kind == kind })
}

// RefundLeft is what may still be refunded of l: its amount, less what is refunded
// and what refunds under way hold.
func (l *Link) RefundLeft() int64 {
	return max(l.Amount-l.Refunds.Total()-l.Refunds.Held, 0)
}

// refundsFromHash reads a record's refunds; its entries oldest first.
func refundsFromHash(h map[string]string) Refunds {
	num := func(f string) int64 { n, _ := strconv.ParseInt(h[f], 10, 64); return n }
	r := Refunds{Refunded: num(fRefunded), Held: num(fRefundHeld), AtDojo: num(fDojoRefunded)}
	for k, v := range h {
		if key, ok := strings.CutPrefix(k, fRefundPrefix); ok {
			if e, ok := decodeRefund(key, v); ok {
				r.Entries = append(r.Entries, e)
			}
		}
	}
	slices.SortFunc(r.Entries, func(a, b Refund) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	return r
}

// reserveRefund reserves a refund's amount if that much is left, once per key.
// KEYS[1] the link record. ARGV: key, amount, kind, the encoded refund.
// Returns {'missing'}, {'exists', encoded}, {'over', left} or {'reserved', left}.
var reserveRefund = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
local prev = redis.call('HGET', KEYS[1], 'refund:' .. ARGV[1])
if prev then return {'exists', prev} end
local function num(f) return tonumber(redis.call('HGET', KEYS[1], f) or '0') or 0 end
local amount = num('amount')
local done = math.max(num('refunded'), num('dojo_refunded'))
local held = num('refund_held')
local left = amount - done - held
local want = tonumber(ARGV[2])
if want <= 0 or want > left then return {'over', tostring(left)} end
if ARGV[3] == 'reversal' and (done > 0 or held > 0 or want ~= amount) then return {'over', tostring(left)} end
redis.call('HINCRBY', KEYS[1], 'refund_held', want)
redis.call('HSET', KEYS[1], 'refund:' .. ARGV[1], ARGV[4])
return {'reserved', tostring(left)}`)

// settleRefund ends a held refund: done (its amount moves from held to refunded, and
// the record takes the status) or given back (its amount and entry go).
// KEYS[1] the link record. ARGV: key, amount, 'done' or 'release', the encoded refund,
// status, now ms. Returns 1, or 0 when the refund was not held.
var settleRefund = redis.NewScript(`
local prev = redis.call('HGET', KEYS[1], 'refund:' .. ARGV[1])
if not prev or string.sub(prev, 1, 4) ~= 'held' then return 0 end
redis.call('HINCRBY', KEYS[1], 'refund_held', -tonumber(ARGV[2]))
if ARGV[3] == 'release' then
  redis.call('HDEL', KEYS[1], 'refund:' .. ARGV[1])
  return 1
end
redis.call('HINCRBY', KEYS[1], 'refunded', ARGV[2])
redis.call('HSET', KEYS[1], 'refund:' .. ARGV[1], ARGV[4], 'status', ARGV[5], 'status_ms', ARGV[6])
return 1`)

// retakeRefund hands a held refund to a new attempt if it is still as the caller
// saw it. KEYS[1] the link record. ARGV: key, the encoded refund as seen, the new one.
var retakeRefund = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'refund:' .. ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'refund:' .. ARGV[1], ARGV[3])
return 1`)

// noteDojoRefunded raises dojo_refunded to what Dojo reports, never lowers it.
// KEYS[1] the link record. ARGV: refunded amount.
var noteDojoRefunded = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if tonumber(redis.call('HGET', KEYS[1], 'dojo_refunded') or '0') < tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'dojo_refunded', ARGV[1])
end
return 1`)

// Reservation is the outcome of ReserveRefund.
type Reservation struct {
	// Reserved is true when the refund's amount is now held for it: the caller must
	// SettleRefund it, done or given back.
	Reserved bool
	// Existing is the refund already made, or under way, with the same key.
	Existing *Refund
	// Left is what was left to refund before this one (when not Existing).
	Left int64
}

// ReserveRefund holds r.Amount of a link for the refund r, if that much is left (and,
// for a reversal, if nothing is refunded or held and r.Amount is the whole amount), in
// one atomic step. A key seen before reserves nothing and returns that refund:
// a form submitted twice refunds once. ErrNotFound if the record is gone. One round
// trip.
func (s *Store) ReserveRefund(ctx context.Context, intentID string, r Refund) (Reservation, error) {
	r.Done = false
	res, err := reserveRefund.Run(ctx, s.rdb, []string{s.linkKey(intentID)}, r.Key, r.Amount, r.Kind, r.encode()).StringSlice()
	if err != nil {
		return Reservation{}, fmt.Errorf("store: reserve refund %s: %w", intentID, err)
	}
	switch res[0] {
	case "missing":
		return Reservation{}, ErrNotFound
	case "exists":
		e, ok := decodeRefund(r.Key, res[1])
		if !ok {
			return Reservation{}, fmt.Errorf("store: reserve refund %s: unreadable refund %q", intentID, r.Key)
		}
		return Reservation{Existing: &e}, nil
	}
	left, _ := strconv.ParseInt(res[1], 10, 64)
	return Reservation{Reserved: res[0] == "reserved", Left: left}, nil
}

// RetakeRefund hands a held refund, as seen in prev, to a new attempt (now held by
// next): it reports false when someone else changed it first. One round trip.
func (s *Store) RetakeRefund(ctx context.Context, intentID string, prev, next Refund) (bool, error) {
	prev.Done, next.Done = false, false
	n, err := retakeRefund.Run(ctx, s.rdb, []string{s.linkKey(intentID)}, prev.Key, prev.encode(), next.encode()).Int()
	if err != nil {
		return false, fmt.Errorf("store: retake refund %s: %w", intentID, err)
	}
	return n == 1, nil
}

// CompleteRefund records that Dojo made the held refund r (r.DojoID its id): its amount
// counts as refunded, in the link and in today's refunded amount, and the record takes
// status. It reports false when r was not held. Three round trips.
func (s *Store) CompleteRefund(ctx context.Context, intentID string, r Refund, status string) (bool, error) {
	r.Done = true
	done, err := s.settle(ctx, intentID, r, "done", status)
	if err != nil || !done {
		return done, err
	}
	return true, s.countReturnedSoFar(ctx, intentID)
}

// countReturnedSoFar counts in today's refunded amount what the link's record says was
// returned beyond what was counted before.
func (s *Store) countReturnedSoFar(ctx context.Context, intentID string) error {
	total, err := s.returnedSoFar(ctx, intentID)
	if err != nil {
		return err
	}
	return s.countReturned(ctx, intentID, Origin{}, total)
}

// ReleaseRefund gives back what the held refund r reserved: Dojo refused it. One
// round trip.
func (s *Store) ReleaseRefund(ctx context.Context, intentID string, r Refund) error {
	_, err := s.settle(ctx, intentID, r, "release", "")
	return err
}

func (s *Store) settle(ctx context.Context, intentID string, r Refund, how, status string) (bool, error) {
	n, err := settleRefund.Run(ctx, s.rdb, []string{s.linkKey(intentID)}, r.Key, r.Amount, how, r.encode(),
		status, s.now().UnixMilli()).Int()
	if err != nil {
		return false, fmt.Errorf("store: %s refund %s: %w", how, intentID, err)
	}
	return n == 1, nil
}

// NoteDojoRefunded records what Dojo reports refunded of a link, if more than it
// reported before, and counts what that returns beyond what was counted in today's
// refunded amount. Three round trips.
func (s *Store) NoteDojoRefunded(ctx context.Context, intentID string, amount int64) error {
	if err := noteDojoRefunded.Run(ctx, s.rdb, []string{s.linkKey(intentID)}, amount).Err(); err != nil {
		return fmt.Errorf("store: note refunded %s: %w", intentID, err)
	}
	return s.countReturnedSoFar(ctx, intentID)
}
