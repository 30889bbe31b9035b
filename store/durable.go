package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultWaitTimeout bounds the WAIT that confirms a write reached its replicas.
const DefaultWaitTimeout = 500 * time.Millisecond

// ErrNotReplicated is returned when a write was made but WAIT could not confirm that
// Options.MinReplicas replicas hold it in time. The write may be lost in a failover, so
// the caller treats it as not done: a webhook gets 503 and Dojo delivers it again.
var ErrNotReplicated = errors.New("store: write not confirmed by enough replicas")

// batch is a group of commands whose keys share one slot, named by key.
type batch struct {
	key string
	add func(pipe redis.Pipeliner)
}

// exec runs batches as one pipeline. With MinReplicas above 0 it is followed, on the
// same connection, by WAIT: WAIT counts only the writes made on its own connection. On
// Redis Cluster each batch then runs on the master that holds its slot, one after the
// other, each with its own WAIT.
func (s *Store) exec(ctx context.Context, batches ...batch) error {
	cc, isCluster := s.rdb.(*redis.ClusterClient)
	if s.minReplicas == 0 || !isCluster {
		pipe := s.rdb.Pipeline()
		for _, b := range batches {
			b.add(pipe)
		}
		var wait *redis.Cmd
		if s.minReplicas > 0 {
			wait = s.wait(ctx, pipe)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return err
		}
		return s.replicated(wait)
	}
	for _, b := range batches {
		node, err := cc.MasterForKey(ctx, b.key)
		if err != nil {
			return err
		}
		pipe := node.Pipeline()
		b.add(pipe)
		wait := s.wait(ctx, pipe)
		if _, err := pipe.Exec(ctx); err != nil {
			if movedOrDown(err) {
				// The node no longer serves the slot (a failover): learn the new layout
				// for the next attempt.
				cc.ReloadState(ctx)
			}
			return err
		}
		if err := s.replicated(wait); err != nil {
			return err
		}
	}
	return nil
}

// wait adds WAIT to pipe. Its timeout must stay under the client's read timeout, which
// the pipeline's reply is read with.
func (s *Store) wait(ctx context.Context, pipe redis.Pipeliner) *redis.Cmd {
	return pipe.Do(ctx, "wait", s.minReplicas, s.waitTimeout.Milliseconds())
}

// runScript runs one script whose keys share a slot: by its SHA (sent whole only the
// first time), or, when replicas must confirm it, in a pipeline followed by WAIT.
func (s *Store) runScript(ctx context.Context, script *redis.Script, keys []string, args ...any) (*redis.Cmd, error) {
	if s.minReplicas == 0 {
		cmd := script.Run(ctx, s.rdb, keys, args...)
		return cmd, cmd.Err()
	}
	var cmd *redis.Cmd
	err := s.exec(ctx, batch{key: keys[0], add: func(pipe redis.Pipeliner) {
		cmd = script.Eval(ctx, pipe, keys, args...)
	}})
	if err != nil {
		return nil, err
	}
	return cmd, cmd.Err()
}

// replicated checks WAIT's answer.
func (s *Store) replicated(wait *redis.Cmd) error {
	if wait == nil {
		return nil
	}
	n, err := wait.Int64()
	if err != nil {
		return fmt.Errorf("store: wait for replicas: %w", err)
	}
	if n < int64(s.minReplicas) {
		return fmt.Errorf("%w: %d of %d within %v", ErrNotReplicated, n, s.minReplicas, s.waitTimeout)
	}
	return nil
}

// movedOrDown reports an error after which the Cluster layout should be read again.
func movedOrDown(err error) bool {
	msg := err.Error()
	for _, p := range []string{"MOVED", "ASK", "CLUSTERDOWN", "READONLY", "TRYAGAIN", "connection refused", "i/o timeout", "EOF"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
