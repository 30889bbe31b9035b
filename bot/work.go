package bot

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"github.com/paylink/paylink/bot/slackin"
	"github.com/paylink/paylink/bot/slackout"
)

// handoff passes the first answer of a background job to the request that started it,
// unless the request has stopped waiting; then the job delivers it through response_url.
type handoff struct {
	mu       sync.Mutex
	gaveUp   bool
	answered bool
	ch       chan slackin.Reply
	// own is the time the work spent in paylink and Redis rather than waiting on Dojo
	// or Slack (see admission); 0 when not measured.
	own time.Duration
}

// setOwnDelay records the work's own delay.
func (h *handoff) setOwnDelay(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.own = d
}

func (h *handoff) ownDelay() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.own
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

// start runs the creation of a link in the background and waits up to cfg.AckBudget
// for its first answer: what to acknowledge the command with (empty when the link is
// made and about to be posted). When the budget runs out first, it acknowledges with
// nothing and the job reports through response_url (see run).
func (l *linker) start(log zerolog.Logger, reqID, sig string, sc slack.SlashCommand, cmd Command) (slackin.Reply, bool) {
	job := createJob{log: log, reqID: reqID, sig: sig, sc: sc, cmd: cmd}
	return l.run(log, sc.ResponseURL, func(ctx context.Context, h *handoff) { l.create(ctx, job, h) },
		fmt.Sprintf("Creating a %s payment link for %s… Dojo is taking a moment; the link will appear in this channel as soon as it is ready.",
			cmd.Amount, slackout.Escape(cmd.Reference)))
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
		return slackin.Reply{Text: "Paylink is very busy right now, so nothing was done. Please try again in a moment."}, true
	}
	if !l.tasks.Go(l.cfg.WorkTimeout, func(ctx context.Context) {
		defer func() { l.admit.release(h.ownDelay()) }()
		work(ctx, h)
	}) {
		l.admit.release(0)
		return slackin.Reply{Text: "Paylink is restarting, so nothing was done. Please try again in a few seconds."}, true
	}
	timer := time.NewTimer(l.cfg.AckBudget)
	defer timer.Stop()
	select {
	case r := <-h.ch:
		return r, true
	case <-timer.C:
	}
	if r, ok := h.giveUp(); ok {
		return r, true
	}
	if wait := l.cfg.SlowNotice - l.cfg.AckBudget; wait > 0 && slowText != "" {
		// A timer rather than a sleeping goroutine: under load most commands pass the
		// ack budget, and nearly all of them answer long before the notice is due.
		time.AfterFunc(wait, func() {
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
