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
}

// Store is paylink's Redis state. It is safe for concurrent use; several processes may
// share one Redis.
type Store struct {
	rdb     redis.UniversalClient
	prefix  string
	linkTTL time.Duration
	now     func() time.Time
}

// New returns a Store on rdb, which may be a single node, Sentinel or Cluster client.
func New(rdb redis.UniversalClient, opts Options) *Store {
	s := &Store{rdb: rdb, prefix: opts.Prefix, linkTTL: opts.LinkTTL, now: opts.Now}
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
	// Notices maps a status to the ts of the notice posted for it, once posted, so a
	// notification handled twice (its consumer died after posting) posts once.
	Notices map[string]string
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

// Claim is the outcome of ClaimCommand.
type Claim struct {
	// Won is true when this caller holds the claim and should create the intent.
	Won bool
	// IntentID is the intent an earlier identical command already created, if any.
	IntentID string
	// Open lists links for the same reference in the workspace that can still be paid,
	// newest first, when the duplicate check found any; the claim is then not taken.
	Open []string
	// Limited is true when the user has made as many links as the rate limit allows;
	// RetryAfter says when the window ends.
	Limited    bool
	RetryAfter time.Duration
	// Replayed is true when the request's signature was seen before.
	Replayed bool
	// Token identifies a won claim, for ReleaseCommand; rateKey the count it took.
	Token   string
	rateKey string
}

// ClaimRequest is what ClaimCommand checks, in one step.
type ClaimRequest struct {
	Fingerprint string
	Token       string
	PendingTTL  time.Duration
	// Signature, when set, is the request's signature: a request seen before is refused.
	Signature string
	// Dup asks to refuse the claim while a link for the same reference in the same
	// workspace can still be paid.
	Dup DupCheck
	// Rate, when its Limit is above zero, caps the links one user makes per Window.
	Rate RateCheck
}

// DupCheck names the reference to check for open links.
type DupCheck struct {
	Team, Reference string
	Skip            bool // "create another anyway"
}

// RateCheck is a per-user limit on links made, across replicas.
type RateCheck struct {
	Team, User string
	Limit      int
	Window     time.Duration
}

// SignatureTTL is how long a request signature is remembered: Slack's 5-minute window
// and a minute of clock skew.
const SignatureTTL = 6 * time.Minute

// claimScript checks a command in one step: replay, then the re-type claim, the
// reference's open links and the user's rate limit. KEYS: signature, claim, reference
// index, rate bucket. ARGV: claim value, claim TTL ms, check duplicates (0/1), now ms,
// status key prefix, rate limit (0 = none), rate window ms, signature TTL ms.
// Status hashes are read by derived names: they share the {events} hash tag, so the
// script stays in one slot.
var claimScript = redis.NewScript(`
if KEYS[1] ~= '' and ARGV[8] ~= '0' then
  if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[8]) then return {'replay'} end
end
local prev = redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2], 'GET')
if prev then return {'claimed', prev} end
if ARGV[3] == '1' then
  local ids = redis.call('ZREVRANGEBYSCORE', KEYS[3], '+inf', '(' .. ARGV[4], 'LIMIT', 0, 20)
  local open = {'open'}
  for _, id in ipairs(ids) do
    local cur = redis.call('HGET', ARGV[5] .. id, '_current')
    if not cur or cur == 'Created' or cur == 'Authorized' then table.insert(open, id) end
  end
  if #open > 1 then
    redis.call('DEL', KEYS[2])
    return open
  end
end
if tonumber(ARGV[6]) > 0 then
  local n = tonumber(redis.call('GET', KEYS[4]) or '0')
  if n >= tonumber(ARGV[6]) then
    redis.call('DEL', KEYS[2])
    return {'limited', tostring(redis.call('PTTL', KEYS[4]))}
  end
  redis.call('INCR', KEYS[4])
  if n == 0 then redis.call('PEXPIRE', KEYS[4], ARGV[7]) end
end
return {'won'}`)

func (s *Store) signatureKey(sig string) string {
	h := sha256.Sum256([]byte(sig))
	return s.prefix + "{events}:sig:" + hex.EncodeToString(h[:16])
}

// rateKey is the counter of a user's links in the current window.
func (s *Store) rateKey(r RateCheck) string {
	if r.Limit <= 0 || r.Window <= 0 {
		return s.prefix + "{events}:rate:none"
	}
	bucket := s.now().UnixMilli() / r.Window.Milliseconds()
	return s.prefix + "{events}:rate:" + r.Team + ":" + r.User + ":" + strconv.FormatInt(bucket, 10)
}

// ClaimCommand checks a command before its intent is created, in one round trip:
//   - a request whose signature was seen before is refused (Claim.Replayed);
//   - the same command typed again within the re-type window does not create a second
//     intent: Claim.IntentID names the one an earlier command made, or, while that one
//     is still being made, Won and IntentID are both empty;
//   - unless Dup.Skip, a link for the same reference that can still be paid stops the
//     claim and is listed in Claim.Open;
//   - a user at the rate limit is refused (Claim.Limited); refused commands don't count.
//
// The caller that wins must either SaveLink (which turns the claim into the intent id
// for the rest of window) or ReleaseCommand. A claim never settled lapses after
// PendingTTL.
func (s *Store) ClaimCommand(ctx context.Context, req ClaimRequest) (Claim, error) {
	check := "0"
	if !req.Dup.Skip && req.Dup.Reference != "" {
		check = "1"
	}
	sigKey, sigTTL := "", int64(0)
	if req.Signature != "" {
		sigKey, sigTTL = s.signatureKey(req.Signature), SignatureTTL.Milliseconds()
	}
	rk := s.rateKey(req.Rate)
	limit := req.Rate.Limit
	if req.Rate.Window <= 0 {
		limit = 0
	}
	res, err := claimScript.Run(ctx, s.rdb,
		[]string{sigKey, s.claimKey(req.Fingerprint), s.refKey(req.Dup.Team, req.Dup.Reference), rk},
		"pending:"+req.Token, req.PendingTTL.Milliseconds(), check, s.now().UnixMilli(), s.prefix+"{events}:status:",
		limit, req.Rate.Window.Milliseconds(), sigTTL).StringSlice()
	if err != nil {
		return Claim{}, fmt.Errorf("store: claim command: %w", err)
	}
	switch res[0] {
	case "won":
		c := Claim{Won: true, Token: req.Token}
		if limit > 0 {
			c.rateKey = rk
		}
		return c, nil
	case "replay":
		return Claim{Replayed: true}, nil
	case "open":
		return Claim{Open: res[1:]}, nil
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
// back the rate-limit count it took. KEYS[1] claim, KEYS[2] rate bucket (may be "").
var releaseClaim = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  if KEYS[2] ~= '' and tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
  return 1
end
return 0`)

// releaseIfOwner deletes a key only while it holds the caller's token.
var releaseIfOwner = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// ReleaseCommand gives up a claim won with c, so the command can be tried again, and
// gives back its rate-limit count: a command that made no link does not count. It
// leaves alone a claim that has since passed to someone else. One round trip.
func (s *Store) ReleaseCommand(ctx context.Context, fingerprint string, c Claim) error {
	err := releaseClaim.Run(ctx, s.rdb, []string{s.claimKey(fingerprint), c.rateKey}, "pending:"+c.Token).Err()
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

// SaveLink stores a new link record with the store's link TTL and, when fingerprint is
// not empty, points the command's claim at the intent for the rest of window, so the
// same command typed again gets this link. One round trip.
func (s *Store) SaveLink(ctx context.Context, l Link, fingerprint string, window time.Duration) error {
	if l.IntentID == "" {
		return errors.New("store: save link: empty intent id")
	}
	args := append([]any{s.linkTTL.Milliseconds()}, l.fields()...)
	pipe := s.rdb.Pipeline()
	saved := hsetExpire.Eval(ctx, pipe, []string{s.linkKey(l.IntentID)}, args...)
	if fingerprint != "" {
		pipe.Set(ctx, s.claimKey(fingerprint), l.IntentID, window)
	}
	if l.Status == "" || l.Status == "Created" || l.Status == "Authorized" {
		pipe.ZAdd(ctx, s.openKey(), redis.Z{Score: float64(l.CreatedAt.UnixMilli()), Member: l.IntentID})
	}
	expires := l.ExpiresAt
	if expires.IsZero() {
		expires = l.CreatedAt.Add(30 * 24 * time.Hour)
	}
	if l.Reference != "" {
		rk := s.refKey(l.TeamID, l.Reference)
		pipe.ZAdd(ctx, rk, redis.Z{Score: float64(expires.UnixMilli()), Member: l.IntentID})
		pipe.PExpire(ctx, rk, s.linkTTL)
	}
	if l.ChannelID != "" {
		ck := s.channelKey(l.TeamID, l.ChannelID)
		pipe.ZAdd(ctx, ck, redis.Z{Score: float64(l.CreatedAt.UnixMilli()), Member: l.IntentID})
		pipe.ZRemRangeByRank(ctx, ck, 0, -channelListLen-1)
		pipe.PExpire(ctx, ck, s.linkTTL)
	}
	if _, err := pipe.Exec(ctx); err != nil {
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

// SetLinkMessage records where the link message was posted, so status notices can
// thread under it and update it. ErrNotFound if the record is gone. One round trip.
func (s *Store) SetLinkMessage(ctx context.Context, intentID, channel, ts string) error {
	n, err := hsetIfExists.Run(ctx, s.rdb, []string{s.linkKey(intentID)},
		fMsgChannel, channel, fMsgTS, ts).Int()
	if err != nil {
		return fmt.Errorf("store: set link message %s: %w", intentID, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// SetNoticePosted records that the notice for status was posted as ts, and the link's
// status. ErrNotFound if the record is gone. One round trip.
func (s *Store) SetNoticePosted(ctx context.Context, intentID, status, ts, current string) error {
	n, err := hsetIfExists.Run(ctx, s.rdb, []string{s.linkKey(intentID)},
		fNoticePrefix+status, ts, fStatus, current, fStatusAt, strconv.FormatInt(s.now().UnixMilli(), 10)).Int()
	if err != nil {
		return fmt.Errorf("store: set notice %s: %w", intentID, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// LinkExists reports whether intentID has a record. One round trip.
func (s *Store) LinkExists(ctx context.Context, intentID string) (bool, error) {
	n, err := s.rdb.Exists(ctx, s.linkKey(intentID)).Result()
	if err != nil {
		return false, fmt.Errorf("store: link exists %s: %w", intentID, err)
	}
	return n == 1, nil
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

// SetLinkStatus records the status the link shows and when it got there. One round trip.
func (s *Store) SetLinkStatus(ctx context.Context, intentID, status string, at time.Time) error {
	n, err := hsetIfExists.Run(ctx, s.rdb, []string{s.linkKey(intentID)},
		fStatus, status, fStatusAt, strconv.FormatInt(at.UnixMilli(), 10)).Int()
	if err != nil {
		return fmt.Errorf("store: set link status %s: %w", intentID, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}
