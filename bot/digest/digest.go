// Package digest makes paylink's daily digest: yesterday's links created, paid,
// canceled, expired and refunded, the amounts per currency, the top agents and the
// oldest links still open; and posts it once a day, once across every replica.
package digest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"github.com/paylink/paylink/bot/slackout"
	"github.com/paylink/paylink/store"
)

// Store is what the digest reads and the lock it takes. *store.Store satisfies it.
type Store interface {
	Day(t time.Time) string
	Location() *time.Location
	DayTeams(ctx context.Context, day string) ([]string, error)
	DayTotals(ctx context.Context, team string, days ...string) ([]store.Totals, error)
	OpenLinks(ctx context.Context, since time.Time, cursor string, limit int) ([]store.OpenLink, string, error)
	Link(ctx context.Context, intentID string) (*store.Link, error)
	TryLock(ctx context.Context, name, token string, ttl time.Duration) (bool, error)
	ExtendLock(ctx context.Context, name, token string, ttl time.Duration) (bool, error)
	LockTTL(ctx context.Context, name string) (time.Duration, error)
}

// oldestShown is how many of the oldest open links the digest lists.
const oldestShown = 5

// openLinkAge is how long a link can be open: Dojo voids an intent after 30 days.
const openLinkAge = 31 * 24 * time.Hour

// ErrBadDay is a day that is malformed or not over yet.
var ErrBadDay = errors.New("digest: bad day")

// Build reads the digest of day (2006-01-02 in the store's time zone), as of now: the
// counters of every workspace counted that day, summed, and the oldest links still
// open now. A day that is malformed or after now's day is ErrBadDay.
func Build(ctx context.Context, st Store, day string, now time.Time) (slackout.DigestReport, error) {
	d, err := time.ParseInLocation(time.DateOnly, day, st.Location())
	if err != nil {
		return slackout.DigestReport{}, fmt.Errorf("%w: %q is not a date like 2026-11-29", ErrBadDay, day)
	}
	if today := st.Day(now); d.Format(time.DateOnly) > today {
		return slackout.DigestReport{}, fmt.Errorf("%w: %s is in the future (today is %s in %s)", ErrBadDay, day, today, st.Location())
	}
	r := slackout.DigestReport{Day: day, Now: now}
	r.Totals.Add(store.Totals{})
	teams, err := st.DayTeams(ctx, day)
	if err != nil {
		return r, err
	}
	for _, team := range teams {
		per, err := st.DayTotals(ctx, team, day)
		if err != nil {
			return r, err
		}
		r.Totals.Add(per[0])
	}
	r.Oldest, err = oldestOpen(ctx, st, now, oldestShown)
	return r, err
}

// oldestOpen returns up to n of the oldest links still open, oldest first.
func oldestOpen(ctx context.Context, st Store, now time.Time, n int) ([]*store.Link, error) {
	var out []*store.Link
	cursor := ""
	for range 10 { // the open set may hold links whose close is still being recorded
		page, next, err := st.OpenLinks(ctx, now.Add(-openLinkAge), cursor, 4*n)
		if err != nil {
			return nil, err
		}
		for _, o := range page {
			l, err := st.Link(ctx, o.IntentID)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if store.Closed(l.Status) {
				continue
			}
			out = append(out, l)
			if len(out) == n {
				return out, nil
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	return out, nil
}

// Poster posts a message in a channel. SlackPoster's does, with chat.postMessage.
type Poster func(ctx context.Context, channel, text string, blocks []slack.Block) error

// SlackPoster posts with chat, waiting out Slack's rate limit on clock.
func SlackPoster(chat *slackout.Chat, clock clockwork.Clock) Poster {
	return func(ctx context.Context, channel, text string, blocks []slack.Block) error {
		_, _, err := slackout.PostMessage(ctx, chat, clock, slackout.Message{Channel: channel, Text: text, Blocks: blocks})
		return err
	}
}

// Scheduler posts the digest of the day before once a day, at At after midnight in
// the store's time zone, exactly once across replicas.
type Scheduler struct {
	Log     zerolog.Logger
	Store   Store
	Post    Poster
	Channel string
	At      time.Duration // after midnight
	Clock   clockwork.Clock
	// Token identifies this replica as the holder of a day's lock.
	Token string
}

// Timings of the scheduler.
const (
	// retryEvery is how often a replica tries again, while a day's digest is not known
	// to be posted: after a failed post, or while another replica holds the day.
	retryEvery = time.Minute
	// postingLease bounds one attempt to build and post; a replica that dies during it
	// leaves the day to another after this.
	postingLease = 2 * time.Minute
	// postedFor is how long a posted day stays marked: beyond the day it is tried on.
	postedFor = 72 * time.Hour
)

// dueOn is when the digest is due on the day of t: midnight in the store's zone plus
// At (on a day the clocks change, the wall-clock time At names).
func (s *Scheduler) dueOn(t time.Time) time.Time {
	t = t.In(s.Store.Location())
	h, m := int(s.At/time.Hour), int(s.At%time.Hour/time.Minute)
	return time.Date(t.Year(), t.Month(), t.Day(), h, m, 0, 0, t.Location())
}

// Run posts a digest every day until ctx ends. A replica that starts after the day's
// time posts the day's digest if no replica has: the day's lock decides which.
func (s *Scheduler) Run(ctx context.Context) {
	log := s.Log.With().Str("component", "digest").Logger()
	for ctx.Err() == nil {
		now := s.Clock.Now()
		due := s.dueOn(now)
		if now.Before(due) {
			s.sleep(ctx, due.Sub(now))
			continue
		}
		next := s.dueOn(due.AddDate(0, 0, 1))
		day := s.Store.Day(due.AddDate(0, 0, -1))
		if s.postOnce(ctx, log, day) {
			s.sleep(ctx, next.Sub(s.Clock.Now()))
			continue
		}
		s.sleep(ctx, min(retryEvery, next.Sub(s.Clock.Now())))
	}
}

// postOnce posts the digest of day unless a replica has, and reports whether the day
// is done (posted here or elsewhere). The day's lock (a Redis SET NX) is held for
// postingLease while posting, then kept for postedFor once posted; a failed post
// releases it, for a later try here or on another replica.
func (s *Scheduler) postOnce(ctx context.Context, log zerolog.Logger, day string) bool {
	lock := "digest:" + day
	won, err := s.Store.TryLock(ctx, lock, s.Token, postingLease)
	if err != nil {
		log.Warn().Err(err).Str("day", day).Msg("digest: could not take the day's lock")
		return false
	}
	if !won {
		// Another replica posted it, or is posting it: try again later, in case it dies.
		return s.heldAsPosted(ctx, lock)
	}
	r, err := Build(ctx, s.Store, day, s.Clock.Now())
	if err == nil {
		text, blocks := slackout.Digest(r)
		err = s.Post(ctx, s.Channel, text, blocks)
	}
	if err != nil {
		log.Error().Err(err).Str("day", day).Str("code", slackout.ErrorCode(err)).Msg("digest: could not post; trying again in a minute")
		if _, rerr := s.Store.ExtendLock(context.WithoutCancel(ctx), lock, s.Token, 0); rerr != nil {
			log.Warn().Err(rerr).Msg("digest: could not release the day's lock")
		}
		return false
	}
	if _, err := s.Store.ExtendLock(context.WithoutCancel(ctx), lock, s.Token, postedFor); err != nil {
		log.Warn().Err(err).Msg("digest: could not mark the day posted")
	}
	log.Info().Str("day", day).Str("channel", s.Channel).Msg("digest posted")
	return true
}

// heldAsPosted reports whether the day's lock is the long one a posted day keeps
// (its TTL beyond a posting lease), so this replica can stop trying.
func (s *Scheduler) heldAsPosted(ctx context.Context, lock string) bool {
	d, err := s.Store.LockTTL(ctx, lock)
	return err == nil && d > postingLease
}

// sleep waits d on the clock, or until ctx ends.
func (s *Scheduler) sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := s.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.Chan():
	}
}
