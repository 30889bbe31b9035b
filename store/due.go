package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Links come due twice while they are open: when they have waited long enough for a
// reminder, and when they pass their expiry. Both are handed out by scripts, each link
// once, whichever replica asks first.

func (s *Store) expiringKey() string   { return s.prefix + "{events}:expiring" }
func (s *Store) remindMarkKey() string { return s.prefix + "{events}:remind:mark" }

// dueExpiries takes up to ARGV[2] links whose expiry (the score) is at or before
// ARGV[1] out of the expiring set, and returns them: each is handed out once.
var dueExpiries = redis.NewScript(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #ids > 0 then redis.call('ZREM', KEYS[1], unpack(ids)) end
return ids
`)

// DueExpiries returns up to limit links whose expiry has passed by now, taking them
// out of the expiring set: each is returned once, to one caller. A caller that could
// not settle one puts it back with ExpireLater. One round trip.
func (s *Store) DueExpiries(ctx context.Context, now time.Time, limit int) ([]string, error) {
	ids, err := dueExpiries.Run(ctx, s.rdb, []string{s.expiringKey()}, now.UnixMilli(), limit).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("store: due expiries: %w", err)
	}
	return ids, nil
}

// ExpireLater puts a link back in the expiring set, due at at.
func (s *Store) ExpireLater(ctx context.Context, intentID string, at time.Time) error {
	if err := s.rdb.ZAdd(ctx, s.expiringKey(), redis.Z{Score: float64(at.UnixMilli()), Member: intentID}).Err(); err != nil {
		return fmt.Errorf("store: expire later %s: %w", intentID, err)
	}
	return nil
}

// dueReminders hands out the open links (KEYS[1], scored by creation) created after
// the mark (KEYS[2]; ARGV[2] when none is set) and at or before ARGV[1], oldest first,
// up to ARGV[3], and moves the mark past them: a link is handed out once, ever.
var dueReminders = redis.NewScript(`
local mark = redis.call('GET', KEYS[2]) or ARGV[2]
local rows = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. mark, ARGV[1], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[3]))
local ids = {}
for i = 1, #rows, 2 do ids[#ids + 1] = rows[i] end
if #rows > 0 then
  mark = rows[#rows]
elseif tonumber(ARGV[1]) > tonumber(mark) then
  mark = ARGV[1]
end
redis.call('SET', KEYS[2], mark, 'PX', tonumber(ARGV[4]))
return ids
`)

// DueReminders returns up to limit open links created at or before cutoff that no
// call has returned before, oldest first: each link once, to one caller, across
// replicas. Links created before since are not returned (the first call starts
// there). One round trip.
func (s *Store) DueReminders(ctx context.Context, cutoff, since time.Time, limit int) ([]string, error) {
	ids, err := dueReminders.Run(ctx, s.rdb, []string{s.openKey(), s.remindMarkKey()},
		cutoff.UnixMilli(), strconv.FormatInt(since.UnixMilli(), 10), limit, s.linkTTL.Milliseconds()).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("store: due reminders: %w", err)
	}
	return ids, nil
}
