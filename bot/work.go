package bot

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/paylink/paylink/bot/slackin"
)

// handoff passes the first answer of a background job to the request that started it,
// unless the request has stopped waiting; then the job delivers it through response_url.
type handoff struct {
	mu       sync.Mutex
	gaveUp   bool
	answered bool
	ch       chan slackin.Reply
}

// isAnswered reports whether the work has given its first answer.
func (h *handoff) isAnswered() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.answered
}

// newHandoff returns a handoff for a request that waits for the answer.
func newHandoff() *handoff { return &handoff{ch: make(chan slackin.Reply, 1)} }

// noWaiter returns a handoff nobody waits on: every answer goes through response_url.
func noWaiter() *handoff { return &handoff{gaveUp: true} }

// deliver offers the job's answer to the waiting request. It reports false when the
// request has already been answered and the job must deliver the text itself.
func (h *handoff) deliver(r slackin.Reply) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.answered = true
	if h.gaveUp {
		return false
	}
	h.ch <- r
	return true
}

// giveUp stops the request waiting. It returns the job's answer if one arrived just now.
func (h *handoff) giveUp() (slackin.Reply, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case r := <-h.ch:
		return r, true
	default:
		h.gaveUp = true
		return slackin.Reply{}, false
	}
}

// run starts work in the background and waits up to cfg.AckBudget for its first
// answer. When the budget runs out first it returns an empty reply (acknowledging
// with nothing shown) and false; the work then answers through response_url, and if it
// has not answered by cfg.SlowNotice, slowText tells the agent it is on its way.
func (l *linker) run(log zerolog.Logger, responseURL string, work func(context.Context, *handoff), slowText string) (slackin.Reply, bool) {
	h := newHandoff()
	// Bound the work in flight: when Dojo is slow, or paylink can't keep up, and commands
	// keep coming, wait a little for a slot, then say so rather than pile up work.
	// The wait and the acknowledgement budget together stay inside Slack's 3 seconds.
	if !l.admit.acquire(min(inflightWait, max(ackDeadline-l.cfg.AckBudget, 0))) {
		l.m.Command("busy")
		limit, inflight := l.admit.state()
		log.Warn().Int("limit", limit).Int("in_flight", inflight).Msg("too many commands in flight: refused")
		return slackin.Reply{Text: msgBusy}, true
	}
	if !l.tasks.Go(l.cfg.WorkTimeout, func(ctx context.Context) {
		defer l.admit.release()
		work(ctx, h)
	}) {
		l.admit.release()
		return slackin.Reply{Text: msgRestarting}, true
	}
	timer := l.clock.NewTimer(l.cfg.AckBudget)
	defer timer.Stop()
	select {
	case r := <-h.ch:
		return r, true
	case <-timer.Chan():
	}
	if r, ok := h.giveUp(); ok {
		return r, true
	}
	if wait := l.cfg.SlowNotice - l.cfg.AckBudget; wait > 0 && slowText != "" {
		// A timer rather than a sleeping goroutine: under load most commands pass the
		// ack budget, and nearly all of them answer long before the notice is due.
		l.clock.AfterFunc(wait, func() {
			if h.isAnswered() {
				return
			}
			l.tasks.Go(10*time.Second, func(ctx context.Context) {
				if !h.isAnswered() {
					l.respond(ctx, log, responseURL, slackin.Reply{Text: slowText})
				}
			})
		})
	}
	return slackin.Reply{}, false
}
