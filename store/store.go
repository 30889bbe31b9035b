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
	// Token identifies a won claim, for ReleaseCommand.
	Token string
}

// DupCheck asks ClaimCommand to refuse the claim while a link for the same reference
// in the same workspace can still be paid.
type DupCheck struct {
	Team, Reference string
	Skip            bool // "create another anyway"
}

// claimScript takes a command's claim and checks for open links with the same
// reference, in one step. KEYS[1] the claim, KEYS[2] the reference index. ARGV: claim
// value, TTL ms, check (0/1), now ms, status key prefix. Status hashes are read by
// derived names: they share the {events} hash tag, so the script stays in one slot.
var claimScript = redis.NewScript(`
local prev = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2], 'GET')
if prev then return {'claimed', prev} end
if ARGV[3] == '1' then
  local ids = redis.call('ZREVRANGEBYSCORE', KEYS[2], '+inf', '(' .. ARGV[4], 'LIMIT', 0, 20)
  local open = {'open'}
  for _, id in ipairs(ids) do
    local cur = redis.call('HGET', ARGV[5] .. id, '_current')
    if not cur or cur == 'Created' or cur == 'Authorized' then table.insert(open, id) end
  end
  if #open > 1 then
    redis.call('DEL', KEYS[1])
    return open
  end
end
return {'won'}`)

// ClaimCommand reserves a command fingerprint so that the same command typed again
// within window does not create a second payment intent. The caller that wins must
// either SaveLink (which turns the claim into the intent id for the rest of window) or
// ReleaseCommand. A claim that is never settled lapses after pendingTTL. If an earlier
// identical command already made its link, Claim.IntentID names it; if one is still
// being made, Won and IntentID are both empty. Unless dup.Skip, a link for the same
// reference that can still be paid stops the claim and is listed in Claim.Open. One
// round trip.
func (s *Store) ClaimCommand(ctx context.Context, fingerprint, token string, pendingTTL time.Duration, dup DupCheck) (Claim, error) {
	check := "0"
	if !dup.Skip && dup.Reference != "" {
		check = "1"
	}
	res, err := claimScript.Run(ctx, s.rdb, []string{s.claimKey(fingerprint), s.refKey(dup.Team, dup.Reference)},
		"pending:"+token, pendingTTL.Milliseconds(), check, s.now().UnixMilli(), s.prefix+"{events}:status:").StringSlice()
	if err != nil {
		return Claim{}, fmt.Errorf("store: claim command: %w", err)
	}
	switch {
	case res[0] == "won":
		return Claim{Won: true, Token: token}, nil
	case res[0] == "open":
		return Claim{Open: res[1:]}, nil
	case strings.HasPrefix(res[1], "pending:"):
		return Claim{}, nil
	default:
		return Claim{IntentID: res[1]}, nil
	}
}

// releaseIfOwner deletes a claim only while it still holds the caller's token.
var releaseIfOwner = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// ReleaseCommand gives up a claim won with token, so the command can be tried again.
// It leaves alone a claim that has since passed to someone else. One round trip.
func (s *Store) ReleaseCommand(ctx context.Context, fingerprint, token string) error {
	err := releaseIfOwner.Run(ctx, s.rdb, []string{s.claimKey(fingerprint)}, "pending:"+token).Err()
	if err != nil {
		return fmt.Errorf("store: release command: %w", err)
	}
	return nil
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
