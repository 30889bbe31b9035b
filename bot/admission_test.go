package bot

import (
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
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
			clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
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
	a := newAdmission(2, time.Now)
	if !a.acquire(time.Millisecond) || !a.acquire(time.Millisecond) {
		t.Fatal("the first two slots were refused")
	}
	start := time.Now()
	if a.acquire(50 * time.Millisecond) {
		t.Fatal("a third slot was given with a limit of 2")
	}
	if waited := time.Since(start); waited < 40*time.Millisecond {
		t.Errorf("refused after %v, before waiting", waited)
	}

	got := make(chan bool)
	for range 2 {
		go func() { got <- a.acquire(5 * time.Second) }()
	}
	time.Sleep(20 * time.Millisecond)
	a.release(0)
	if !<-got {
		t.Fatal("a waiting command did not get the freed slot")
	}
	select {
	case <-got:
		t.Fatal("two commands got one freed slot")
	case <-time.After(50 * time.Millisecond):
	}
	a.release(0)
	if !<-got {
		t.Fatal("the second waiting command did not get the next slot")
	}
	if limit, inflight := a.state(); limit != 2 || inflight != 2 {
		t.Errorf("limit %d, in flight %d; want 2, 2", limit, inflight)
	}
}
