package redistest

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// RoundTrips is a go-redis hook that records the round trips a client makes, one entry
// each: a command's full name ("evalsha", "client setinfo"), or "pipeline(…)" with its
// commands' names ("pipeline(eval,xadd)"). A new connection's handshake (HELLO, CLIENT)
// is left out: it is not a request of the client's user.
//
//	rt := &redistest.RoundTrips{}
//	rdb.AddHook(rt)
type RoundTrips struct {
	mu  sync.Mutex
	all []string
}

func (r *RoundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *RoundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.add(cmd.FullName())
		return next(ctx, cmd)
	}
}

func (r *RoundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		names := make([]string, len(cmds))
		for i, cmd := range cmds {
			names[i] = cmd.Name()
		}
		r.add("pipeline(" + strings.Join(names, ",") + ")")
		return next(ctx, cmds)
	}
}

func (r *RoundTrips) add(name string) {
	if name == "hello" || name == "client" || strings.HasPrefix(name, "client ") {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, name)
}

// List returns the round trips recorded so far, oldest first.
func (r *RoundTrips) List() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.all)
}

// Take returns the round trips recorded so far and forgets them.
func (r *RoundTrips) Take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	all := r.all
	r.all = nil
	return all
}
