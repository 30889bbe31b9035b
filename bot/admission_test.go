package bot

import (
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock tests move by hand. Its timers fire when add moves it past
// their deadline, never on their own.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at time.Time
	c  chan time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// add moves the clock on by d and fires the timers due by then.
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	kept := c.timers[:0]
	for _, t := range c.timers {
		if t.at.After(c.t) {
			kept = append(kept, t)
			continue
		}
		t.c <- c.t
	}
	c.timers = kept
}

// after is admission.after on this clock.
func (c *fakeClock) after(d time.Duration) (<-chan time.Time, func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.t.Add(d), c: make(chan time.Time, 1)}
	c.timers = append(c.timers, t)
	return t.c, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, p := range c.timers {
			if p == t {
				c.timers = append(c.timers[:i], c.timers[i+1:]...)
				return true
			}
		}
		return false
	}
}

// pending returns how many timers are waiting to fire.
func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// newTestAdmission is an admission with ceiling on clock.
func newTestAdmission(ceiling int, clock *fakeClock) *admission {
	a := newAdmission(ceiling, clock.now)
	a.after = clock.after
	return a
}

// waiters returns how many commands are waiting for a slot.
func (a *admission) waiters() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.waiting
}

// eventually polls cond until it holds, for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// cycle holds n slots, then releases them one adjustment period later, each reporting
// delay. It returns the limit afterwards.
func (a *admission) cycle(t *testing.T, clock *fakeClock, n int, delay time.Duration) int {
	t.Helper()
	for i := range n {
		if !a.acquire(time.Millisecond) {
			t.Fatalf("slot %d of %d refused", i+1, n)
		}
	}
	clock.add(a.every)
	for range n {
		a.release(delay)
	}
	limit, inflight := a.state()
	if inflight != 0 {
		t.Fatalf("%d in flight after releasing all", inflight)
	}
	return limit
}

// TestAdmissionAdapts: the limit of commands under way grows while the work's own delay
// stays under target and the work fills the limit, falls when the delay passes the
// target, and stays within [floor, ceiling].
func TestAdmissionAdapts(t *testing.T) {
	tests := []struct {
		name    string
		ceiling int
		steps   []step
		want    func(limits []int) string
	}{
		{
			name:    "fast work filling the limit lets it grow to the ceiling",
			ceiling: 500,
			steps:   repeat(30, 1, 2*time.Millisecond),
			want: func(l []int) string {
				if l[0] <= admissionFloor || l[len(l)-1] != 500 {
					return "did not grow to the ceiling"
				}
				return ""
			},
		},
		{
			name:    "fast work far below the limit leaves it alone",
			ceiling: 500,
			steps:   repeat(10, 0.25, 2*time.Millisecond),
			want: func(l []int) string {
				if l[len(l)-1] != admissionFloor {
					return "grew without need"
				}
				return ""
			},
		},
		{
			name:    "slow work brings it down to the floor, never below",
			ceiling: 2000,
			steps:   append(repeat(20, 1, 2*time.Millisecond), repeat(40, 1, 200*time.Millisecond)...),
			want: func(l []int) string {
				if l[19] < 500 {
					return "did not grow first"
				}
				if l[len(l)-1] != admissionFloor {
					return "did not come down to the floor"
				}
				return ""
			},
		},
		{
			name:    "a ceiling under the floor is the limit",
			ceiling: 3,
			steps:   repeat(5, 1, 2*time.Millisecond),
			want: func(l []int) string {
				for _, v := range l {
					if v != 3 {
						return "left the ceiling"
					}
				}
				return ""
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			a := newAdmission(tt.ceiling, clock.now)
			var limits []int
			for _, s := range tt.steps {
				limit, _ := a.state()
				limits = append(limits, a.cycle(t, clock, max(1, int(float64(limit)*s.fill)), s.delay))
			}
			if msg := tt.want(limits); msg != "" {
				t.Errorf("%s: limits %v", msg, limits)
			}
		})
	}
}

// step is one adjustment period of a test: the share of the limit held, and the delay
// each piece of work reports.
type step struct {
	fill  float64
	delay time.Duration
}

func repeat(n int, fill float64, delay time.Duration) []step {
	out := make([]step, n)
	for i := range out {
		out[i] = step{fill, delay}
	}
	return out
}

// TestAdmissionWaits: a command over the limit waits for a slot and gets the next one
// freed; with none freed in time it is refused, and holds nothing.
func TestAdmissionWaits(t *testing.T) {
	clock := newFakeClock()
	a := newTestAdmission(2, clock)
	first, second := a.acquire(time.Millisecond), a.acquire(time.Millisecond)
	if !first || !second {
		t.Fatal("the first two slots were refused")
	}
	third := make(chan bool, 1)
	go func() { third <- a.acquire(50 * time.Millisecond) }()
	eventually(t, "the third command to wait", func() bool { return clock.pending() == 1 })
	clock.add(49 * time.Millisecond)
	select {
	case <-third:
		t.Fatal("the third command was answered before its wait was over")
	default:
	}
	clock.add(time.Millisecond)
	if <-third {
		t.Fatal("a third slot was given with a limit of 2")
	}
	if _, inflight := a.state(); inflight != 2 || a.waiters() != 0 {
		t.Fatalf("after a refusal: %d in flight, %d waiting; want 2, 0", inflight, a.waiters())
	}

	got := make(chan bool, 2)
	for range 2 {
		go func() { got <- a.acquire(5 * time.Second) }()
	}
	eventually(t, "two commands to wait", func() bool { return clock.pending() == 2 })
	a.release(0)
	if !<-got {
		t.Fatal("a waiting command did not get the freed slot")
	}
	eventually(t, "the other command to wait again", func() bool { return clock.pending() == 1 && a.waiters() == 1 })
	select {
	case <-got:
		t.Fatal("two commands got one freed slot")
	default:
	}
	a.release(0)
	if !<-got {
		t.Fatal("the second waiting command did not get the next slot")
	}
	if limit, inflight := a.state(); limit != 2 || inflight != 2 {
		t.Errorf("limit %d, in flight %d; want 2, 2", limit, inflight)
	}
}

// TestAdmissionBurst: a burst larger than the lowest limit, while the work finishes
// within the wait (Dojo answering after 300 ms), is all admitted: the commands over the
// limit wait for a slot rather than being refused, whether the work's own delay is under
// target (the limit grows to take them) or over it (the limit stays at the floor and
// each waits for a slot freed).
func TestAdmissionBurst(t *testing.T) {
	for _, tt := range []struct {
		name      string
		own       time.Duration // each create's own delay
		wantGrown bool
	}{
		{"own delay under target", 5 * time.Millisecond, true},
		{"own delay over target", 200 * time.Millisecond, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			a := newTestAdmission(500, clock)
			const n, dojoLatency = 100, 300 * time.Millisecond
			results := make(chan bool, n)
			for range n {
				go func() { results <- a.acquire(inflightWait) }()
			}
			held, refused := 0, 0
			take := func(ok bool) {
				if ok {
					held++
				} else {
					refused++
				}
			}
			for range admissionFloor {
				take(<-results)
			}
			eventually(t, "the commands over the limit to wait", func() bool { return clock.pending() == n-admissionFloor })
			if refused != 0 || held != admissionFloor {
				t.Fatalf("first %d commands: %d admitted; want all", admissionFloor, held)
			}
			// Round by round Dojo answers the creates under way and their slots are freed;
			// the clock never reaches the end of a command's wait.
			answered := admissionFloor
			for round := 1; answered < n || held > 0; round++ {
				if round*int(dojoLatency/time.Millisecond) >= int(inflightWait/time.Millisecond) {
					t.Fatalf("round %d: %d of %d commands answered", round, answered, n)
				}
				clock.add(dojoLatency)
				for ; held > 0; held-- {
					a.release(tt.own)
				}
				if round == 1 {
					if limit, _ := a.state(); (limit > admissionFloor) != tt.wantGrown {
						t.Errorf("limit %d after the first round; grown = %v, want %v", limit, limit > admissionFloor, tt.wantGrown)
					}
				}
				// The commands waiting take the slots freed, as many as the limit allows.
				limit, _ := a.state()
				for range min(limit, n-answered) {
					take(<-results)
					answered++
				}
			}
			if refused != 0 {
				t.Errorf("%d of %d commands refused", refused, n)
			}
			if limit, inflight := a.state(); inflight != 0 || a.waiters() != 0 || clock.pending() != 0 {
				t.Errorf("after the burst: limit %d, %d in flight, %d waiting, %d timers", limit, inflight, a.waiters(), clock.pending())
			}
		})
	}
}
