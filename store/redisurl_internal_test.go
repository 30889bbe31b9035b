package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/redis/go-redis/v9"
)

// replyError is an error reply from Redis.
type replyError string

func (e replyError) Error() string { return string(e) }
func (replyError) RedisError()     {}

// TestNetworkError: what makes a Cluster client reload its slot map.
func TestNetworkError(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{redis.Nil, false},
		{replyError("ERR wrong number of arguments"), false},
		{replyError("NOSCRIPT No matching script"), false},
		{replyError("CLUSTERDOWN The cluster is down"), true},
		{replyError("TRYAGAIN Multiple keys request during rehashing of slot"), true},
		{&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}, true},
		{fmt.Errorf("store: ready: %w", context.DeadlineExceeded), true},
		{context.Canceled, false},
	} {
		if got := networkError(tt.err); got != tt.want {
			t.Errorf("networkError(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
