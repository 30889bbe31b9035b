package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Per-day counters: for each workspace and day (in the store's time zone), how many
// links were created, paid, canceled, expired and refunded, and for how much, per
// currency; and, per agent, what was paid. They are kept exact without scans: each
// is incremented in the same script that records the change it counts (a new link's
// index step, RecordStatus), once per link and status, and they live in the {events}
// slot beside the keys those scripts already touch. The refunded amount is the money
// returned, counted by countReturned as each larger total returned is learned.

// CounterTTL is how long a day's counters are kept.
const CounterTTL = 400 * 24 * time.Hour

// Kinds of counted change.
const (
	KindCreated  = "created"
	KindPaid     = "paid"
	KindCanceled = "canceled"
	KindExpired  = "expired"
	KindRefunded = "refunded"
)

// Kinds lists the counted changes in the order a report shows them.
var Kinds = []string{KindCreated, KindPaid, KindCanceled, KindExpired, KindRefunded}

// countedKind is the counter a status change adds to, or "" for none.
func countedKind(status string) string {
	switch status {
	case "Captured":
		return KindPaid
	case "Canceled":
		return KindCanceled
	case StatusExpired:
		return KindExpired
	case "Refunded", "Reversed":
		return KindRefunded
	}
	return ""
}

// dayKey holds a workspace's counters for a day: "<kind>:<currency>:n" and
// "<kind>:<currency>:amount" fields.
func (s *Store) dayKey(team, day string) string {
	return s.prefix + "{events}:day:" + team + ":" + day
}

// agentsKey holds what each agent of a workspace was paid on a day:
// "<user>:<currency>:n" and "<user>:<currency>:amount" fields.
func (s *Store) agentsKey(team, day string) string {
	return s.prefix + "{events}:day:" + team + ":" + day + ":agents"
}

// dayTeamsKey is the set of workspaces that have counters for a day.
func (s *Store) dayTeamsKey(day string) string {
	return s.prefix + "{events}:days:" + day
}

// countLua adds one change to a day's counters. It is part of the scripts that record
// changes. cnt(dayKey, agentsKey, teamsKey, kind, currency, amount, user, ttl ms, team):
// agentsKey is used only when user is not empty.
const countLua = `
local function cnt(day, agents, teams, kind, cur, amount, user, ttl, team)
  redis.call('HINCRBY', day, kind .. ':' .. cur .. ':n', 1)
  redis.call('HINCRBY', day, kind .. ':' .. cur .. ':amount', amount)
  redis.call('PEXPIRE', day, ttl)
  if user ~= '' then
    redis.call('HINCRBY', agents, user .. ':' .. cur .. ':n', 1)
    redis.call('HINCRBY', agents, user .. ':' .. cur .. ':amount', amount)
    redis.call('PEXPIRE', agents, ttl)
  end
  redis.call('SADD', teams, team)
  redis.call('PEXPIRE', teams, ttl)
end
`

// countCreated counts a new link once: the mark "_counted" in the intent's status hash
// makes saving the same link again (a record rebuilt from Dojo's metadata) count
// nothing. KEYS: status hash, day counters, day's workspaces. ARGV: currency, amount,
// ttl ms, team, status hash ttl ms. Returns 1 if counted.
var countCreated = redis.NewScript(countLua + `
if redis.call('HSETNX', KEYS[1], '_counted', '1') == 0 then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
cnt(KEYS[2], KEYS[2], KEYS[3], 'created', ARGV[1], ARGV[2], '', ARGV[3], ARGV[4])
return 1`)

// Day is the day t falls on in the store's time zone, as 2006-01-02.
func (s *Store) Day(t time.Time) string { return t.In(s.loc).Format(time.DateOnly) }

// Location is the store's time zone for days.
func (s *Store) Location() *time.Location { return s.loc }

// Total is a count of links and their amount in minor units.
type Total struct {
	Count  int64
	Amount int64
}

// Sums are totals by currency.
type Sums map[string]Total

func (s Sums) add(cur string, t Total) {
	old := s[cur]
	s[cur] = Total{Count: old.Count + t.Count, Amount: old.Amount + t.Amount}
}

// Totals are a workspace's counters over a day, or a range of days.
type Totals struct {
	// Kinds holds the totals of each kind (KindCreated…), by currency.
	Kinds map[string]Sums
	// Agents holds what each agent (user id) was paid, by currency.
	Agents map[string]Sums
}

// Of returns the sums of one kind (never nil).
func (t Totals) Of(kind string) Sums {
	if s := t.Kinds[kind]; s != nil {
		return s
	}
	return Sums{}
}

// Add adds o to t.
func (t *Totals) Add(o Totals) {
	if t.Kinds == nil {
		t.Kinds = map[string]Sums{}
	}
	if t.Agents == nil {
		t.Agents = map[string]Sums{}
	}
	for k, sums := range o.Kinds {
		for cur, v := range sums {
			if t.Kinds[k] == nil {
				t.Kinds[k] = Sums{}
			}
			t.Kinds[k].add(cur, v)
		}
	}
	for u, sums := range o.Agents {
		for cur, v := range sums {
			if t.Agents[u] == nil {
				t.Agents[u] = Sums{}
			}
			t.Agents[u].add(cur, v)
		}
	}
}

// parseCounters reads a counters hash: "<name>:<currency>:n|amount" fields into
// name → currency → Total.
func parseCounters(h map[string]string) map[string]Sums {
	out := map[string]Sums{}
	for f, v := range h {
		i := strings.LastIndexByte(f, ':')
		if i < 0 {
			continue
		}
		j := strings.LastIndexByte(f[:i], ':')
		if j < 0 {
			continue
		}
		name, cur, what := f[:j], f[j+1:i], f[i+1:]
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			continue
		}
		if out[name] == nil {
			out[name] = Sums{}
		}
		t := out[name][cur]
		switch what {
		case "n":
			t.Count = n
		case "amount":
			t.Amount = n
		default:
			continue
		}
		out[name][cur] = t
	}
	return out
}

// DayTotals returns a workspace's counters for each of days (2006-01-02 in the store's
// time zone), in the same order; a day with nothing counted has empty totals. One
// round trip.
func (s *Store) DayTotals(ctx context.Context, team string, days ...string) ([]Totals, error) {
	if len(days) == 0 {
		return nil, nil
	}
	pipe := s.rdb.Pipeline()
	kinds := make([]*redis.MapStringStringCmd, len(days))
	agents := make([]*redis.MapStringStringCmd, len(days))
	for i, d := range days {
		kinds[i] = pipe.HGetAll(ctx, s.dayKey(team, d))
		agents[i] = pipe.HGetAll(ctx, s.agentsKey(team, d))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("store: day totals: %w", err)
	}
	out := make([]Totals, len(days))
	for i := range days {
		out[i] = Totals{Kinds: parseCounters(kinds[i].Val()), Agents: parseCounters(agents[i].Val())}
	}
	return out, nil
}

// RangeTotals returns a workspace's counters summed over the days from first to last,
// both included (2006-01-02). One round trip.
func (s *Store) RangeTotals(ctx context.Context, team, first, last string) (Totals, error) {
	days, err := DaysBetween(first, last)
	if err != nil {
		return Totals{}, err
	}
	per, err := s.DayTotals(ctx, team, days...)
	if err != nil {
		return Totals{}, err
	}
	var sum Totals
	sum.Add(Totals{})
	for _, t := range per {
		sum.Add(t)
	}
	return sum, nil
}

// maxRangeDays bounds a range of days read at once: the counters are kept 400 days.
const maxRangeDays = 400

// DaysBetween lists the days from first to last, both included (2006-01-02).
func DaysBetween(first, last string) ([]string, error) {
	a, err := time.Parse(time.DateOnly, first)
	if err != nil {
		return nil, fmt.Errorf("store: day %q is not a date like 2026-11-29", first)
	}
	b, err := time.Parse(time.DateOnly, last)
	if err != nil {
		return nil, fmt.Errorf("store: day %q is not a date like 2026-11-29", last)
	}
	if b.Before(a) {
		return nil, fmt.Errorf("store: days from %s to %s: the range ends before it starts", first, last)
	}
	var out []string
	for d := a; !d.After(b); d = d.AddDate(0, 0, 1) {
		if len(out) == maxRangeDays {
			return nil, fmt.Errorf("store: days from %s to %s: more than %d days", first, last, maxRangeDays)
		}
		out = append(out, d.Format(time.DateOnly))
	}
	return out, nil
}

// DayTeams returns the workspaces that have counters for day. One round trip.
func (s *Store) DayTeams(ctx context.Context, day string) ([]string, error) {
	teams, err := s.rdb.SMembers(ctx, s.dayTeamsKey(day)).Result()
	if err != nil {
		return nil, fmt.Errorf("store: day teams: %w", err)
	}
	return teams, nil
}

// LockTTL returns how long the named lock (see TryLock) is still held; 0 when it is
// not. One round trip.
func (s *Store) LockTTL(ctx context.Context, name string) (time.Duration, error) {
	d, err := s.rdb.PTTL(ctx, s.lockKey(name)).Result()
	if err != nil {
		return 0, fmt.Errorf("store: lock %s: %w", name, err)
	}
	return max(d, 0), nil
}

// returnedKey holds how much of a link's money has been counted as returned.
func (s *Store) returnedKey(intentID string) string {
	return s.prefix + "{events}:returned:" + intentID
}

// countReturned raises what is counted as returned of a link to ARGV[1] and adds the
// increase to the day's refunded amount: a total that is reported again, or smaller,
// adds nothing. KEYS: the link's returned mark, the day's counters, the day's
// workspaces. ARGV: total, currency, counter ttl ms, team, mark ttl ms. Returns the
// increase.
var countReturned = redis.NewScript(`
local prev = tonumber(redis.call('GET', KEYS[1]) or '0')
local total = tonumber(ARGV[1])
if total <= prev then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[5])
redis.call('HINCRBY', KEYS[2], 'refunded:' .. ARGV[2] .. ':amount', total - prev)
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[4])
redis.call('PEXPIRE', KEYS[3], ARGV[3])
return total - prev`)

// countReturned counts the money returned of a link (refunded or reversed, from Slack
// or Dojo's dashboard) in today's refunded amount, up to total: each step that learns
// a larger total adds the difference, once. o is the link's origin (read from its
// record when it lacks the workspace or currency).
func (s *Store) countReturned(ctx context.Context, intentID string, o Origin, total int64) error {
	if o.Team == "" || o.Currency == "" {
		var ok bool
		var err error
		if o, ok, err = s.LinkOrigin(ctx, intentID); err != nil || !ok {
			return err
		}
	}
	if o.Team == "" || o.Currency == "" || total <= 0 {
		return nil
	}
	day := s.Day(s.now())
	err := countReturned.Run(ctx, s.rdb, []string{s.returnedKey(intentID), s.dayKey(o.Team, day), s.dayTeamsKey(day)},
		total, o.Currency, CounterTTL.Milliseconds(), o.Team, s.linkTTL.Milliseconds()).Err()
	if err != nil {
		return fmt.Errorf("store: count returned %s: %w", intentID, err)
	}
	return nil
}

// returnedSoFar is what a link's record says has been returned: the larger of what
// paylink refunded and what Dojo reported refunded.
func (s *Store) returnedSoFar(ctx context.Context, intentID string) (int64, error) {
	v, err := s.rdb.HMGet(ctx, s.linkKey(intentID), fRefunded, fDojoRefunded).Result()
	if err != nil {
		return 0, fmt.Errorf("store: refunded so far %s: %w", intentID, err)
	}
	var most int64
	for _, x := range v {
		if str, ok := x.(string); ok {
			if n, err := strconv.ParseInt(str, 10, 64); err == nil {
				most = max(most, n)
			}
		}
	}
	return most, nil
}
