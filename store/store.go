// Package store keeps paylink's state in Redis: link records, the claims that stop a
// re-typed command from creating a second payment intent, and (with the webhook
// flow) status transitions and the notification stream.
//
// Every key starts with a prefix (default "paylink:") and carries a TTL. Keys that a
// single atomic step touches share a Redis Cluster hash tag; see the key functions.
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
	return s.prefix + "cmd:" + fingerprint
}

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
	TestMode    bool
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
	// Token identifies a won claim, for ReleaseCommand.
	Token string
}

// ClaimCommand reserves a command fingerprint so that the same command typed again
// within window does not create a second payment intent. The caller that wins must
// either SaveLink (which turns the claim into the intent id for the rest of window) or
// ReleaseCommand. A claim that is never settled lapses after pendingTTL. If an earlier
// identical command already made its link, Claim.IntentID names it; if one is still
// being made, Won and IntentID are both empty. One round trip.
func (s *Store) ClaimCommand(ctx context.Context, fingerprint, token string, pendingTTL time.Duration) (Claim, error) {
	prev, err := s.rdb.SetArgs(ctx, s.claimKey(fingerprint), "pending:"+token,
		redis.SetArgs{Mode: "NX", TTL: pendingTTL, Get: true}).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return Claim{Won: true, Token: token}, nil
	case err != nil:
		return Claim{}, fmt.Errorf("store: claim command: %w", err)
	case len(prev) >= 8 && prev[:8] == "pending:":
		return Claim{}, nil
	default:
		return Claim{IntentID: prev}, nil
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
		fNoticePrefix+status, ts, fStatus, current).Int()
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
