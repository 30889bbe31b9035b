package bot

import (
	"time"

	"github.com/jonboulle/clockwork"
)

// admission bounds the commands whose work is under way: at most PAYLINK_MAX_IN_FLIGHT
// at once. A command over the bound waits a moment for a slot, then is told Paylink is
// busy and nothing is done, rather than pile up work while Dojo is slow or paylink
// can't keep up.
type admission struct {
	slots chan struct{}
	clock clockwork.Clock
}

func newAdmission(limit int, clock clockwork.Clock) *admission {
	return &admission{slots: make(chan struct{}, limit), clock: clock}
}

// acquire takes a slot, waiting at most maxWait for one. It reports false when none
// came free in time.
func (a *admission) acquire(maxWait time.Duration) bool {
	select {
	case a.slots <- struct{}{}:
		return true
	default:
	}
	if maxWait <= 0 {
		return false
	}
	t := a.clock.NewTimer(maxWait)
	defer t.Stop()
	select {
	case a.slots <- struct{}{}:
		return true
	case <-t.Chan():
		return false
	}
}

// release gives a slot back.
func (a *admission) release() { <-a.slots }

// state returns the bound and the work in flight, for metrics and tests.
func (a *admission) state() (limit, inflight int) { return cap(a.slots), len(a.slots) }
