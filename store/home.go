package store

import (
	"context"
	"fmt"
)

// NewestOpenLinks returns up to n of the links not known to be closed, newest first;
// records that are gone are left out. Two round trips.
func (s *Store) NewestOpenLinks(ctx context.Context, n int) ([]*Link, error) {
	ids, err := s.rdb.ZRevRange(ctx, s.openKey(), 0, int64(n-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("store: newest open links: %w", err)
	}
	return s.links(ctx, ids)
}
