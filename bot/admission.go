package bot

import (
	"sync"
	"time"
)

// admission bounds the commands whose work is under way, with a limit that adapts to
// how loaded paylink itself is.
//
// A command is acknowledged within the ack budget and its link is made in the
// background, so acknowledgements alone say nothing about whether work is piling up.
// When paylink, or Redis, can't keep up (a CPU-starved pod, a burst), accepting every
// command would only queue work: links arrive seconds late and memory grows. So each
// create reports its own delay: the time spent in paylink and Redis (claim, record, the
// scheduling in between), not waiting on Dojo or Slack. While that delay stays under
// target, the limit grows whenever the work in flight nears it (a slow Dojo needs many
// creates in flight, and costs nothing to wait on); once it passes the target, the limit
// is cut below what is in flight. A command over the limit waits for a slot, which slows
// whoever is sending (the agent's Slack client waits a moment longer for the answer),
// and after maxWait it is told Paylink is busy. The limit never drops below floor, nor
// rises above ceiling (PAYLINK_MAX_IN_FLIGHT).
type admission struct {
	mu       sync.Mutex
	inflight int
	limit    int
	floor    int
	ceiling  int
	target   time.Duration
	every    time.Duration
	delay    float64 // moving average of the reported delays, in seconds
	samples  int     // delays reported since the last adjustment
	adjusted time.Time
	waiting  int
	freed    chan struct{} // closed, and replaced, when a slot frees with someone waiting
	now      func() time.Time
	// after starts a command's wait for a slot: its channel delivers when d has passed,
	// and stop lets the timer go when a slot came first.
	after func(d time.Duration) (c <-chan time.Time, stop func() bool)
}

// realAfter is after on the real clock.
func realAfter(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

// Admission defaults: the lowest the limit goes, the delay it aims under, and how often
// it moves.
const (
	admissionFloor  = 64
	admissionTarget = 50 * time.Millisecond
	admissionEvery  = 100 * time.Millisecond
	admissionAlpha  = 0.1 // weight of a new delay in the moving average
)

func newAdmission(ceiling int, now func() time.Time) *admission {
	floor := min(admissionFloor, ceiling)
	return &admission{
		limit: floor, floor: floor, ceiling: ceiling,
		target: admissionTarget, every: admissionEvery,
		freed: make(chan struct{}), now: now, adjusted: now(), after: realAfter,
	}
}

// acquire takes a slot, waiting at most maxWait for one. It reports false when none
// came free in time.
func (a *admission) acquire(maxWait time.Duration) bool {
	var expired <-chan time.Time
	var stop func() bool
	for {
		a.mu.Lock()
		if a.inflight < a.limit {
			a.inflight++
			a.mu.Unlock()
			if stop != nil {
				stop()
			}
			return true
		}
		a.waiting++
		freed := a.freed
		a.mu.Unlock()
		if expired == nil {
			expired, stop = a.after(maxWait)
		}
		timedOut := false
		select {
		case <-freed:
		case <-expired:
			timedOut = true
		}
		a.mu.Lock()
		a.waiting--
		a.mu.Unlock()
		if timedOut {
			return false
		}
	}
}

// release gives the slot back. delay is the work's own delay (0: not measured, as for
// work that is not a create).
func (a *admission) release(delay time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.inflight--
	if delay > 0 {
		s := delay.Seconds()
		if a.samples == 0 && a.delay == 0 {
			a.delay = s
		} else {
			a.delay += admissionAlpha * (s - a.delay)
		}
		a.samples++
	}
	if now := a.now(); now.Sub(a.adjusted) >= a.every && a.samples > 0 {
		a.adjust()
		a.adjusted = now
		a.samples = 0
	}
	if a.waiting > 0 {
		close(a.freed)
		a.freed = make(chan struct{})
	}
}

// adjust moves the limit: down below what is in flight when the delay is over target,
// up by a quarter when under target and the work in flight is near the limit.
func (a *admission) adjust() {
	over := a.delay > a.target.Seconds()
	switch {
	case over:
		a.limit = max(a.floor, min(a.limit, a.inflight+1)*4/5)
	case a.inflight+a.waiting >= a.limit*3/4:
		a.limit = min(a.ceiling, a.limit+a.limit/4+1)
	}
}

// state returns the limit and the work in flight, for metrics and tests.
func (a *admission) state() (limit, inflight int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.limit, a.inflight
}
