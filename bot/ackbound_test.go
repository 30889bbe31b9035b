package bot

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// TestBusyWaitFitsSlacksDeadline: a command that waits for a slot waits no longer than
// what the acknowledgement budget leaves of Slack's 3 seconds.
func TestBusyWaitFitsSlacksDeadline(t *testing.T) {
	for _, c := range []struct {
		budget, want time.Duration
	}{
		{25 * time.Millisecond, inflightWait},
		{1500 * time.Millisecond, time.Second},
		{2500 * time.Millisecond, 0},
	} {
		l := &linker{cfg: Config{AckBudget: c.budget}, admit: newAdmission(1, time.Now), tasks: NewTasks(zerolog.Nop())}
		if !l.admit.acquire(0) {
			t.Fatal("the only slot was not free")
		}
		var waited []time.Duration
		l.admit.after = func(d time.Duration) (<-chan time.Time, func() bool) {
			waited = append(waited, d)
			ch := make(chan time.Time, 1)
			ch <- time.Time{}
			return ch, func() bool { return true }
		}
		rep, _ := l.run(zerolog.Nop(), "", func(context.Context, *handoff) { t.Error("work ran without a slot") }, "")
		if rep.Text == "" {
			t.Errorf("budget %v: no busy answer", c.budget)
		}
		if len(waited) > 1 || (len(waited) == 1 && waited[0] != c.want) || (len(waited) == 0 && c.want != 0) {
			t.Errorf("budget %v: waited %v for a slot, want %v", c.budget, waited, c.want)
		}
	}
}
