package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// RevokedTTL is how long a workspace stays marked as having uninstalled paylink or
// revoked its token, unless Slack sends paylink an event from it again first.
const RevokedTTL = 30 * 24 * time.Hour

// revokedKey marks a workspace whose Slack token no longer works.
func (s *Store) revokedKey(team string) string { return s.prefix + "{events}:revoked:" + team }

// MarkRevoked records that a workspace uninstalled paylink or revoked its bot token:
// its notices are not posted (see Revoked). One round trip.
func (s *Store) MarkRevoked(ctx context.Context, team, why string) error {
	if err := s.rdb.Set(ctx, s.revokedKey(team), why, RevokedTTL).Err(); err != nil {
		return fmt.Errorf("store: mark revoked: %w", err)
	}
	return nil
}

// ClearRevoked forgets MarkRevoked for a workspace: Slack sends paylink its events
// again. One round trip.
func (s *Store) ClearRevoked(ctx context.Context, team string) error {
	if err := s.rdb.Del(ctx, s.revokedKey(team)).Err(); err != nil {
		return fmt.Errorf("store: clear revoked: %w", err)
	}
	return nil
}

// Revoked reports why a workspace's token no longer works ("" when it does, as far as
// paylink knows). One round trip.
func (s *Store) Revoked(ctx context.Context, team string) (string, error) {
	v, err := s.rdb.Get(ctx, s.revokedKey(team)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: revoked: %w", err)
	}
	return v, nil
}
