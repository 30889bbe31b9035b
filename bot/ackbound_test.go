package bot

import (
	"context"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"

	"github.com/paylink/paylink/bot/slackin"
)

// TestBusyWaitFitsSlacksDeadline: a command that waits for a slot waits no longer than
// what the acknowledgement budget leaves of Slack's 3 seconds, then is told Paylink is
// busy.
func TestBusyWaitFitsSlacksDeadline(t *testing.T) {
	for _, c := range []struct {
		budget, want time.Duration
	}{
		{25 * time.Millisecond, inflightWait},
		{1500 * time.Millisecond, time.Second},
		{2500 * time.Millisecond, 0},
	} {
		clock := clockwork.NewFakeClock()
		l := &linker{cfg: Config{AckBudget: c.budget}, admit: newAdmission(1, clock), clock: clock, tasks: NewTasks(zerolog.Nop())}
		if !l.admit.acquire(0) {
			t.Fatal("the only slot was not free")
		}
		answered := make(chan slackin.Reply, 1)
		go func() {
			rep, _ := l.run(zerolog.Nop(), "", func(context.Context, *handoff) { t.Error("work ran without a slot") }, "")
			answered <- rep
		}()
		if c.want > 0 {
			waiters(t, clock, 1)
			clock.Advance(c.want - time.Nanosecond)
			select {
			case <-answered:
				t.Fatalf("budget %v: answered before waiting %v for a slot", c.budget, c.want)
			default:
			}
			clock.Advance(time.Nanosecond)
		}
		if rep := <-answered; rep.Text != msgBusy {
			t.Errorf("budget %v: answer %q, want the busy answer", c.budget, rep.Text)
		}
	}
}
