// Package store keeps paylink's state in Redis: link records, the claims that stop a
// re-typed command from creating a second payment intent, and (with the webhook
// flow) status transitions and the notification stream.
//
// Every key starts with a prefix (default "paylink:") and carries a TTL. Keys that a
// single atomic step touches share a Redis Cluster hash tag; see the key functions.
package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultPrefix starts every key unless Options.Prefix says otherwise.
const DefaultPrefix = "paylink:"

// DefaultLinkTTL is how long a link record lives: longer than the 30 days after which
// Dojo voids an unpaid payment intent, so a late payment still finds its record.
const DefaultLinkTTL = 40 * 24 * time.Hour

// ErrNotFound is returned when a record does not exist (or has expired).
var ErrNotFound = errors.New("store: not found")

// Options tune a Store. The zero value is usable.
type Options struct {
	Prefix  string           // default DefaultPrefix
	LinkTTL time.Duration    // default DefaultLinkTTL
	Now     func() time.Time // default time.Now
	// MinReplicas, above 0, makes the writes that must survive a failover (a link
	// record, a status change and its notice, the record that a notice was posted)
	// return only once WAIT confirms that many replicas hold them: ErrNotReplicated
	// otherwise.
	MinReplicas int
	WaitTimeout time.Duration // how long that WAIT may take; default DefaultWaitTimeout
	// Location is the time zone whose days the per-day counters follow; default UTC.
	Location *time.Location
}

// Store is paylink's Redis state. It is safe for concurrent use; several processes may
// share one Redis.
type Store struct {
	rdb         redis.UniversalClient
	prefix      string
	linkTTL     time.Duration
	now         func() time.Time
	minReplicas int
	waitTimeout time.Duration
	loc         *time.Location
}

// New returns a Store on rdb, which may be a single node, Sentinel or Cluster client.
func New(rdb redis.UniversalClient, opts Options) *Store {
	s := &Store{rdb: rdb, prefix: opts.Prefix, linkTTL: opts.LinkTTL, now: opts.Now,
		minReplicas: max(opts.MinReplicas, 0), waitTimeout: opts.WaitTimeout, loc: opts.Location}
	if s.loc == nil {
		s.loc = time.UTC
	}
	if s.waitTimeout <= 0 {
		s.waitTimeout = DefaultWaitTimeout
	}
	if s.prefix == "" {
		s.prefix = DefaultPrefix
	}
	if s.linkTTL <= 0 {
		s.linkTTL = DefaultLinkTTL
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// Ping reports whether Redis answers. One round trip.
func (s *Store) Ping(ctx context.Context) error {
	return s.rdb.Ping(ctx).Err()
}

// linkKey holds one link record as a hash. The intent id is the Cluster hash tag, so
// everything about one intent can live in one slot.
func (s *Store) linkKey(intentID string) string {
	return s.prefix + "link:{" + intentID + "}"
}

// claimKey holds a command fingerprint's claim: "pending:<token>" while its intent is
// being created, then the intent id.
func (s *Store) claimKey(fingerprint string) string {
	return s.prefix + "{events}:cmd:" + fingerprint
}

// refKey indexes a workspace's links by reference (case-insensitive), scored by expiry.
func (s *Store) refKey(team, reference string) string {
	h := sha256.Sum256([]byte(team + "\x00" + strings.ToLower(strings.TrimSpace(reference))))
	return s.prefix + "{events}:ref:" + hex.EncodeToString(h[:12])
}

// channelKey lists a channel's links, scored by creation time.
func (s *Store) channelKey(team, channel string) string {
	return s.prefix + "{events}:chan:" + team + ":" + channel
}

// channelListLen is how many links a channel's list keeps.
const channelListLen = 50

// Link is the record of one payment link: who asked for it, where, and what became of it.
type Link struct {
	IntentID    string
	TeamID      string
	ChannelID   string
	UserID      string
	ResponseURL string
	Amount      int64  // minor units
	Currency    string // ISO 4217 code
	Reference   string
	Status      string // Dojo's payment-intent status, e.g. "Created", "Captured"
	CreatedAt   time.Time
	ExpiresAt   time.Time // when Dojo voids the link if unpaid
	Description string
	TestMode    bool
	// StatusAt is when the link reached Status, once it moved on from Created.
	StatusAt time.Time
	// MessageChannel and MessageTS identify the link message once it is posted with
	// chat.postMessage; both are empty when the link went out through response_url.
	MessageChannel string
	MessageTS      string
	// CardPending is set while the link's card is being posted: the record is made
	// before the card, and the card's ts recorded after it (or CardPending cleared when
	// it could not be posted).
	CardPending bool
	// Notices maps a status to the ts of the notice posted for it, once posted, so a
	// notification handled twice (its consumer died after posting) posts once.
	Notices map[string]string
	// Refunds is what has been refunded of the link (see refunds.go).
	Refunds Refunds
}

// Hash field names of a link record.
const (
	fTeam        = "team"
	fChannel     = "channel"
	fUser        = "user"
	fResponseURL = "response_url"
	fAmount      = "amount"
	fCurrency    = "currency"
	fReference   = "reference"
	fStatus      = "status"
	fCreated     = "created_ms"
	fExpires     = "expires_ms"
	fDescription = "description"
	fStatusAt    = "status_ms"
	fTestMode    = "test_mode"
	fMsgChannel  = "msg_channel"
	fMsgTS       = "msg_ts"
	fCardPending = "card_pending"

	fNoticePrefix = "notice:"
)

func (l Link) fields() []any {
	return []any{
		fTeam, l.TeamID,
		fChannel, l.ChannelID,
		fUser, l.UserID,
		fResponseURL, l.ResponseURL,
		fAmount, strconv.FormatInt(l.Amount, 10),
		fCurrency, l.Currency,
		fReference, l.Reference,
		fStatus, l.Status,
		fCreated, strconv.FormatInt(l.CreatedAt.UnixMilli(), 10),
		fExpires, strconv.FormatInt(l.ExpiresAt.UnixMilli(), 10),
		fDescription, l.Description,
		fTestMode, strconv.FormatBool(l.TestMode),
		fMsgChannel, l.MessageChannel,
		fMsgTS, l.MessageTS,
		fCardPending, strconv.FormatBool(l.CardPending),
	}
}

func linkFromHash(intentID string, h map[string]string) (*Link, error) {
	amount, err := strconv.ParseInt(h[fAmount], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("store: link %s has a bad amount %q", intentID, h[fAmount])
	}
	created, _ := strconv.ParseInt(h[fCreated], 10, 64)
	expires, _ := strconv.ParseInt(h[fExpires], 10, 64)
	var statusAt time.Time
	if ms, err := strconv.ParseInt(h[fStatusAt], 10, 64); err == nil && ms > 0 {
		statusAt = time.UnixMilli(ms).UTC()
	}
	notices := map[string]string{}
	for k, v := range h {
		if st, ok := strings.CutPrefix(k, fNoticePrefix); ok {
			notices[st] = v
		}
	}
	return &Link{
		Notices:        notices,
		IntentID:       intentID,
		TeamID:         h[fTeam],
		ChannelID:      h[fChannel],
		UserID:         h[fUser],
		ResponseURL:    h[fResponseURL],
		Amount:         amount,
		Currency:       h[fCurrency],
		Reference:      h[fReference],
		Status:         h[fStatus],
		CreatedAt:      time.UnixMilli(created).UTC(),
		ExpiresAt:      time.UnixMilli(expires).UTC(),
		Description:    h[fDescription],
		StatusAt:       statusAt,
		TestMode:       h[fTestMode] == "true",
		MessageChannel: h[fMsgChannel],
		MessageTS:      h[fMsgTS],
		CardPending:    h[fCardPending] == "true",
		Refunds:        refundsFromHash(h),
	}, nil
}

// hsetExpire writes hash fields and the key's TTL in one atomic step.
// KEYS[1] the hash; ARGV[1] TTL in ms; ARGV[2:] field, value pairs.
var hsetExpire = redis.NewScript(`
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`)

// hsetIfExists updates fields of an existing hash only, so a record that expired is not
// brought back without its other fields or its TTL.
// KEYS[1] the hash; ARGV field, value pairs. Returns 1 if updated, 0 if missing.
var hsetIfExists = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1`)

// refOpenKey holds the links of a workspace's reference that can still be paid, scored
// by expiry, and the reservations of commands creating one ("pending:<token>", scored by
// when the reservation lapses): the duplicate-reference guard.
func (s *Store) refOpenKey(team, reference string) string {
	h := sha256.Sum256([]byte(team + "\x00" + strings.ToLower(strings.TrimSpace(reference))))
	return s.prefix + "{events}:refopen:" + hex.EncodeToString(h[:12])
}

// rateKey holds the times of a user's recent links, for the sliding rate limit.
func (s *Store) rateKey(team, user string) string {
	return s.prefix + "{events}:rate:" + team + ":" + user
}

// unusedKey stands in a script's key list where a step is switched off, so every key
// a script is given is a real name in the {events} slot; scripts never touch it.
func (s *Store) unusedKey() string { return s.prefix + "{events}:unused" }

// Claim is the outcome of ClaimCommand.
type Claim struct {
	// Won is true when this caller holds the claim and should create the intent.
	Won bool
	// IntentID is the intent an earlier identical command already created, if any.
	IntentID string
	// Open lists links for the same reference in the workspace that can still be paid,
	// newest first, when the duplicate check found any; the claim is then not taken.
	Open []string
	// Creating is true when another command is creating a link for the same reference
	// right now; the claim is then not taken.
	Creating bool
	// Limited is true when the user has made as many links as the rate limit allows;
	// RetryAfter says when the oldest of them leaves the window.
	Limited    bool
	RetryAfter time.Duration
	// Replayed is true when the request's signature was seen before.
	Replayed bool
	// Token identifies a won claim.
	Token string

	fingerprint string
	rateKey     string // the rate-limit set the claim counted in, if any
	refKey      string // the reference's open set the claim reserved, if any
}

// ClaimRequest is what ClaimCommand checks, in one step.
type ClaimRequest struct {
	Fingerprint string
	Token       string
	PendingTTL  time.Duration
	// Signature, when set, is the request's signature: a request seen before is refused.
	Signature string
	// Dup asks to refuse the claim while a link for the same reference in the same
	// workspace can still be paid, or is being created.
	Dup DupCheck
	// Rate, when its Limit is above zero, caps the links one user makes per Window.
	Rate RateCheck
}

// DupCheck names the reference to check for open links.
type DupCheck struct {
	Team, Reference string
	Skip            bool // "create another anyway": not checked, but still reserved
}

// RateCheck is a per-user limit on links made, across replicas: at most Limit in any
// Window (sliding).
type RateCheck struct {
	Team, User string
	Limit      int
	Window     time.Duration
}

// SignatureTTL is how long a request signature is remembered: Slack's 5-minute window
// and a minute of clock skew.
const SignatureTTL = 6 * time.Minute

// claimScript checks a command in one step: replay, the re-type claim, the reference's
// open links and reservations, and the user's rate limit; when all pass it takes the
// claim, reserves the reference and counts the link.
// KEYS: claim, signature, reference open set, rate set (the last three may be the
// unused key). ARGV: token, claim TTL ms, signature TTL ms (0: no signature), check
// duplicates (0/1), reserve the reference (0/1), now ms, rate limit (0: none), rate
// window ms, reference TTL ms.
var claimScript = redis.NewScript(`
local now = tonumber(ARGV[6])
if ARGV[3] ~= '0' then
  if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[3]) then return {'replay'} end
end
local prev = redis.call('GET', KEYS[1])
if prev then return {'claimed', prev} end
if ARGV[5] == '1' then redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now) end
if ARGV[4] == '1' then
  local ids = redis.call('ZREVRANGE', KEYS[3], 0, 19)
  if #ids > 0 then
    local open = {'open'}
    for _, id in ipairs(ids) do
      if string.sub(id, 1, 8) ~= 'pending:' then table.insert(open, id) end
    end
    if #open == 1 then return {'creating'} end
    return open
  end
end
local limit = tonumber(ARGV[7])
if limit > 0 then
  local window = tonumber(ARGV[8])
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - window)
  if redis.call('ZCARD', KEYS[4]) >= limit then
    local oldest = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
    return {'limited', tostring(tonumber(oldest[2]) + window - now)}
  end
  redis.call('ZADD', KEYS[4], now, ARGV[1])
  redis.call('PEXPIRE', KEYS[4], window)
end
redis.call('SET', KEYS[1], 'pending:' .. ARGV[1], 'PX', ARGV[2])
if ARGV[5] == '1' then
  redis.call('ZADD', KEYS[3], now + tonumber(ARGV[2]), 'pending:' .. ARGV[1])
  redis.call('PEXPIRE', KEYS[3], ARGV[9])
end
return {'won'}`)

// signatureKey remembers a request signature.
func (s *Store) signatureKey(sig string) string {
	h := sha256.Sum256([]byte(sig))
	return s.prefix + "{events}:sig:" + hex.EncodeToString(h[:16])
}

// ClaimCommand checks a command before its intent is created, in one round trip:
//   - a request whose signature was seen before is refused (Claim.Replayed);
//   - the same command typed again within the re-type window does not create a second
//     intent: Claim.IntentID names the one an earlier command made, or, while that one
//     is still being made, Won and IntentID are both empty;
//   - unless Dup.Skip, a link for the same reference that can still be paid stops the
//     claim and is listed in Claim.Open, and one being created right now by another
//     command stops it with Claim.Creating;
//   - a user at the rate limit is refused (Claim.Limited); refused commands don't count.
//
// A won claim reserves the reference until SaveLink replaces the reservation with the
// link. The caller that wins must either SaveLink (which also turns the claim into the
// intent id for the rest of the window) or ReleaseCommand. A claim never settled lapses
// after PendingTTL.
func (s *Store) ClaimCommand(ctx context.Context, req ClaimRequest) (Claim, error) {
	unused := s.unusedKey()
	sigKey, sigTTL := unused, int64(0)
	if req.Signature != "" {
		sigKey, sigTTL = s.signatureKey(req.Signature), SignatureTTL.Milliseconds()
	}
	refKey, reserve, check := unused, "0", "0"
	if req.Dup.Reference != "" {
		refKey, reserve = s.refOpenKey(req.Dup.Team, req.Dup.Reference), "1"
		if !req.Dup.Skip {
			check = "1"
		}
	}
	rateKey, limit := unused, 0
	if req.Rate.Limit > 0 && req.Rate.Window > 0 {
		rateKey, limit = s.rateKey(req.Rate.Team, req.Rate.User), req.Rate.Limit
	}
	res, err := claimScript.Run(ctx, s.rdb,
		[]string{s.claimKey(req.Fingerprint), sigKey, refKey, rateKey},
		req.Token, req.PendingTTL.Milliseconds(), sigTTL, check, reserve, s.now().UnixMilli(),
		limit, req.Rate.Window.Milliseconds(), s.linkTTL.Milliseconds()).StringSlice()
	if err != nil {
		return Claim{}, fmt.Errorf("store: claim command: %w", err)
	}
	switch res[0] {
	case "won":
		c := Claim{Won: true, Token: req.Token, fingerprint: req.Fingerprint}
		if limit > 0 {
			c.rateKey = rateKey
		}
		if reserve == "1" {
			c.refKey = refKey
		}
		return c, nil
	case "replay":
		return Claim{Replayed: true}, nil
	case "open":
		return Claim{Open: res[1:]}, nil
	case "creating":
		return Claim{Creating: true}, nil
	case "limited":
		ms, _ := strconv.ParseInt(res[1], 10, 64)
		return Claim{Limited: true, RetryAfter: time.Duration(max(ms, 0)) * time.Millisecond}, nil
	}
	if strings.HasPrefix(res[1], "pending:") {
		return Claim{}, nil
	}
	return Claim{IntentID: res[1]}, nil
}

// releaseClaim deletes a claim only while it still holds the caller's token, and gives
// back the rate-limit count and the reference reservation the claim took.
// KEYS: claim, rate set, reference open set (the last two may be the unused key).
// ARGV: token, give back the count (0/1), drop the reservation (0/1).
var releaseClaim = redis.NewScript(`
if ARGV[2] == '1' then redis.call('ZREM', KEYS[2], ARGV[1]) end
if ARGV[3] == '1' then redis.call('ZREM', KEYS[3], 'pending:' .. ARGV[1]) end
if redis.call('GET', KEYS[1]) == 'pending:' .. ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0`)

// ReleaseCommand gives up a claim won with c, so the command can be tried again: it
// gives back its rate-limit count (a command that made no link does not count) and
// frees its reservation of the reference. It leaves alone a claim that has since
// passed to someone else. One round trip.
func (s *Store) ReleaseCommand(ctx context.Context, c Claim) error {
	if c.fingerprint == "" {
		return nil
	}
	rateKey, refKey := s.unusedKey(), s.unusedKey()
	if c.rateKey != "" {
		rateKey = c.rateKey
	}
	if c.refKey != "" {
		refKey = c.refKey
	}
	err := releaseClaim.Run(ctx, s.rdb, []string{s.claimKey(c.fingerprint), rateKey, refKey},
		c.Token, b2s(c.rateKey != ""), b2s(c.refKey != "")).Err()
	if err != nil {
		return fmt.Errorf("store: release command: %w", err)
	}
	return nil
}

// SeenSignature records a request signature and reports whether it had been seen
// within SignatureTTL: a replayed request. One round trip.
func (s *Store) SeenSignature(ctx context.Context, sig string) (bool, error) {
	ok, err := s.rdb.SetNX(ctx, s.signatureKey(sig), "1", SignatureTTL).Result()
	if err != nil {
		return false, fmt.Errorf("store: seen signature: %w", err)
	}
	return !ok, nil
}

// SaveLink stores a new link record with the store's link TTL, indexes it, and counts
// it in its workspace's counters for the day it was created (once per intent). When c
// is a won claim, it points the claim at the intent for the rest of window, so the same
// command typed again gets this link, and turns the claim's reservation of the
// reference into the link. c may be nil (a record rebuilt from Dojo's metadata). One
// round trip; with MinReplicas, it returns only once replicas hold it (two round trips
// on Cluster, one per slot).
func (s *Store) SaveLink(ctx context.Context, l Link, c *Claim, window time.Duration) error {
	if l.IntentID == "" {
		return errors.New("store: save link: empty intent id")
	}
	args := append([]any{s.linkTTL.Milliseconds()}, l.fields()...)
	var saved *redis.Cmd
	record := batch{key: s.linkKey(l.IntentID), add: func(pipe redis.Pipeliner) {
		saved = hsetExpire.Eval(ctx, pipe, []string{s.linkKey(l.IntentID)}, args...)
	}}
	expires := l.ExpiresAt
	if expires.IsZero() {
		expires = l.CreatedAt.Add(30 * 24 * time.Hour)
	}
	open := l.Status == "" || l.Status == "Created" || l.Status == "Authorized"
	index := batch{key: s.openKey(), add: func(pipe redis.Pipeliner) {
		if c != nil && c.fingerprint != "" {
			pipe.Set(ctx, s.claimKey(c.fingerprint), l.IntentID, window)
		}
		if open {
			pipe.ZAdd(ctx, s.openKey(), redis.Z{Score: float64(l.CreatedAt.UnixMilli()), Member: l.IntentID})
			pipe.ZAdd(ctx, s.expiringKey(), redis.Z{Score: float64(expires.UnixMilli()), Member: l.IntentID})
		}
		if l.Reference != "" {
			rk := s.refKey(l.TeamID, l.Reference)
			pipe.ZAdd(ctx, rk, redis.Z{Score: float64(expires.UnixMilli()), Member: l.IntentID})
			pipe.PExpire(ctx, rk, s.linkTTL)
			ok := s.refOpenKey(l.TeamID, l.Reference)
			if c != nil && c.refKey != "" {
				pipe.ZRem(ctx, c.refKey, "pending:"+c.Token)
			}
			if open {
				pipe.ZAdd(ctx, ok, redis.Z{Score: float64(expires.UnixMilli()), Member: l.IntentID})
				pipe.PExpire(ctx, ok, s.linkTTL)
			}
		}
		if l.ChannelID != "" {
			ck := s.channelKey(l.TeamID, l.ChannelID)
			pipe.ZAdd(ctx, ck, redis.Z{Score: float64(l.CreatedAt.UnixMilli()), Member: l.IntentID})
			pipe.ZRemRangeByRank(ctx, ck, 0, -channelListLen-1)
			pipe.PExpire(ctx, ck, s.linkTTL)
		}
		if l.TeamID != "" && l.Currency != "" {
			day := s.Day(l.CreatedAt)
			countCreated.Eval(ctx, pipe, []string{s.statusKey(l.IntentID), s.dayKey(l.TeamID, day), s.dayTeamsKey(day)},
				l.Currency, l.Amount, CounterTTL.Milliseconds(), l.TeamID, s.linkTTL.Milliseconds())
		}
	}}
	if err := s.exec(ctx, record, index); err != nil {
		return fmt.Errorf("store: save link %s: %w", l.IntentID, err)
	}
	return saved.Err()
}

// Link returns the record of intentID, or ErrNotFound. One round trip.
func (s *Store) Link(ctx context.Context, intentID string) (*Link, error) {
	h, err := s.rdb.HGetAll(ctx, s.linkKey(intentID)).Result()
	if err != nil {
		return nil, fmt.Errorf("store: get link %s: %w", intentID, err)
	}
	if len(h) == 0 {
		return nil, ErrNotFound
	}
	return linkFromHash(intentID, h)
}

// SetNoticePosted records that the notice for status was posted as ts, and the link's
// status. ErrNotFound if the record is gone. One round trip; with MinReplicas, it
// returns only once replicas hold it, so a failover can't make a posted notice look
// unposted.
func (s *Store) SetNoticePosted(ctx context.Context, intentID, status, ts, current string) error {
	set, err := s.runScript(ctx, hsetIfExists, []string{s.linkKey(intentID)}, s.noticeFields(status, ts, current)...)
	if err != nil {
		return fmt.Errorf("store: set notice %s: %w", intentID, err)
	}
	if n, _ := set.Int(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// noticeFields are the link record's fields that say the notice for status was posted
// as ts, with the link's status (current) and when it was reached.
func (s *Store) noticeFields(status, ts, current string) []any {
	return []any{fNoticePrefix + status, ts, fStatus, current, fStatusAt, strconv.FormatInt(s.now().UnixMilli(), 10)}
}

// NoticePosted is SetNoticePosted with the notice's audit event appended in the same
// round trip. audited reports whether the event was written: when err is not nil it
// may have been, or not, and the record is to be made again with SetNoticePosted, which
// does not write the event a second time.
func (s *Store) NoticePosted(ctx context.Context, intentID, status, ts, current string, event AuditEvent) (audited bool, err error) {
	var set *redis.Cmd
	var added *redis.StringCmd
	err = s.exec(ctx,
		batch{key: s.linkKey(intentID), add: func(pipe redis.Pipeliner) {
			set = hsetIfExists.Eval(ctx, pipe, []string{s.linkKey(intentID)}, s.noticeFields(status, ts, current)...)
		}},
		batch{key: s.auditKey(), add: func(pipe redis.Pipeliner) { added = pipe.XAdd(ctx, s.moneyArgs(event)) }})
	audited = added != nil && added.Err() == nil
	if err != nil {
		return audited, fmt.Errorf("store: set notice %s: %w", intentID, err)
	}
	if n, _ := set.Int(); n == 0 {
		return audited, ErrNotFound
	}
	return audited, nil
}

// Origin is where a link was asked for: enough to find its reference's keys and to
// count its changes (by whom, in what currency, for how much).
type Origin struct {
	Team, Reference string
	User, Currency  string
	Amount          int64
}

// LinkOrigin reports whether intentID has a record and, if so, its workspace,
// reference, agent, currency and amount. One round trip.
func (s *Store) LinkOrigin(ctx context.Context, intentID string) (Origin, bool, error) {
	v, err := s.rdb.HMGet(ctx, s.linkKey(intentID), fTeam, fReference, fAmount, fUser, fCurrency).Result()
	if err != nil {
		return Origin{}, false, fmt.Errorf("store: link origin %s: %w", intentID, err)
	}
	if v[2] == nil {
		return Origin{}, false, nil
	}
	team, _ := v[0].(string)
	ref, _ := v[1].(string)
	amount, _ := v[2].(string)
	user, _ := v[3].(string)
	cur, _ := v[4].(string)
	n, _ := strconv.ParseInt(amount, 10, 64)
	return Origin{Team: team, Reference: ref, User: user, Currency: cur, Amount: n}, true, nil
}

// ChannelLinks returns up to n of the links asked for in a channel, newest first.
// Records that expired are left out. Two round trips.
func (s *Store) ChannelLinks(ctx context.Context, team, channel string, n int) ([]*Link, error) {
	ids, err := s.rdb.ZRevRange(ctx, s.channelKey(team, channel), 0, int64(n-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("store: channel links: %w", err)
	}
	return s.links(ctx, ids)
}

// LinksByReference returns the links of a workspace with reference (any letter case),
// newest first. Two round trips.
func (s *Store) LinksByReference(ctx context.Context, team, reference string, n int) ([]*Link, error) {
	ids, err := s.rdb.ZRevRange(ctx, s.refKey(team, reference), 0, int64(n-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("store: links by reference: %w", err)
	}
	links, err := s.links(ctx, ids)
	if err != nil {
		return nil, err
	}
	// The index is scored by expiry; order by creation.
	slices.SortStableFunc(links, func(a, b *Link) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return links, nil
}

// links reads records in one round trip, skipping those that are gone.
func (s *Store) links(ctx context.Context, ids []string) ([]*Link, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGetAll(ctx, s.linkKey(id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("store: read links: %w", err)
	}
	var out []*Link
	for i, c := range cmds {
		if len(c.Val()) == 0 {
			continue
		}
		l, err := linkFromHash(ids[i], c.Val())
		if err != nil {
			continue
		}
		out = append(out, l)
	}
	return out, nil
}

// allowScript is a sliding-window limit: at most ARGV[3] marks in any ARGV[2] ms.
// KEYS[1] the sorted set of marks; ARGV: now ms, window ms, limit, mark. Returns
// {1} when allowed (and the mark recorded), {0, ms until the oldest mark leaves}.
var allowScript = redis.NewScript(`
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tonumber(oldest[2]) + window - now}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return {1}`)

// Allow counts one use of what against a user's sliding limit (at most limit in any
// window) and reports whether it is allowed, or how long until it will be. Refused uses
// don't count. One round trip.
func (s *Store) Allow(ctx context.Context, what, team, user, mark string, limit int, window time.Duration) (bool, time.Duration, error) {
	key := s.prefix + "{events}:limit:" + what + ":" + team + ":" + user
	res, err := allowScript.Run(ctx, s.rdb, []string{key}, s.now().UnixMilli(), window.Milliseconds(), limit, mark).Int64Slice()
	if err != nil {
		return false, 0, fmt.Errorf("store: limit %s: %w", what, err)
	}
	if res[0] == 1 {
		return true, 0, nil
	}
	return false, time.Duration(res[1]) * time.Millisecond, nil
}
