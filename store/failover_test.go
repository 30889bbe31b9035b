package store_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paylink/paylink/store"
	"github.com/paylink/paylink/store/redistest"
)

// failoverBudget is how soon after a promotion paylink must write again.
const failoverBudget = 10 * time.Second

// needFailoverRig skips unless the run has real Redis servers to spare: these tests
// start their own topologies with redis-server.
func needFailoverRig(t *testing.T) {
	t.Helper()
	if os.Getenv("REDIS_URL") == "" {
		t.Skip("REDIS_URL is not set: the failover tests start their own redis-server topologies and run with the real-Redis suite (CI sets it)")
	}
	redistest.Server(t)
}

// writer calls Ready every 50 ms, each call bounded by 1 s, and keeps the outcomes.
type writer struct {
	mu    sync.Mutex
	log   []attempt
	stop  chan struct{}
	done  chan struct{}
	store *store.Store
}

type attempt struct {
	at  time.Time // when the call returned
	err error
}

func startWriter(s *store.Store) *writer {
	w := &writer{stop: make(chan struct{}), done: make(chan struct{}), store: s}
	go func() {
		defer close(w.done)
		for {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			err := s.Ready(ctx)
			cancel()
			w.mu.Lock()
			w.log = append(w.log, attempt{time.Now(), err})
			w.mu.Unlock()
			select {
			case <-w.stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return w
}

func (w *writer) Stop() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

// firstSuccessAfter is the first write that succeeded after t.
func (w *writer) firstSuccessAfter(t time.Time) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, a := range w.log {
		if a.at.After(t) && a.err == nil {
			return a.at, true
		}
	}
	return time.Time{}, false
}

// failures lists the errors between from and to.
func (w *writer) failures(from, to time.Time) []error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []error
	for _, a := range w.log {
		if a.at.After(from) && a.at.Before(to) && a.err != nil {
			out = append(out, a.err)
		}
	}
	return out
}

// waitWrite waits for a write after promoted, at most failoverBudget after it, and
// returns how long after the promotion it came.
func (w *writer) waitWrite(t *testing.T, promoted time.Time) time.Duration {
	t.Helper()
	deadline := promoted.Add(failoverBudget + 2*time.Second)
	for {
		if at, ok := w.firstSuccessAfter(promoted); ok {
			return max(0, at.Sub(promoted))
		}
		if time.Now().After(deadline) {
			w.mu.Lock()
			last := w.log[len(w.log)-1]
			w.mu.Unlock()
			t.Fatalf("no write within %v of the promotion; last error: %v", failoverBudget, last.err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestClusterFailover: a Cluster master is killed with SIGKILL; while its slots have no
// master, Ready fails; its replica is promoted; paylink's client writes to that slot
// again within 10 s of the promotion.
func TestClusterFailover(t *testing.T) {
	t.Parallel()
	needFailoverRig(t)
	c := redistest.StartCluster(t, redistest.ClusterOptions{NodeTimeout: 1000 * time.Millisecond})
	rc, err := store.ParseRedisURL(c.URL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := rc.NewClient()
	defer rdb.Close()
	prefix := "paylinktest:failover:"
	s := store.New(rdb, store.Options{Prefix: prefix})
	if err := s.Ready(context.Background()); err != nil {
		t.Fatalf("Ready before the failover: %v", err)
	}
	master := c.MasterOf(t, prefix+"{events}:ready")
	replicas := c.ReplicasOf(t, master)
	if len(replicas) == 0 {
		t.Fatalf("the master of {events} (%s) has no replica", master.Addr)
	}

	w := startWriter(s)
	defer w.Stop()
	time.Sleep(300 * time.Millisecond)
	killed := time.Now()
	master.Kill(t)
	promoted, at := c.WaitPromoted(t, replicas, 30*time.Second)
	after := w.waitWrite(t, at)
	w.Stop()
	t.Logf("master %s killed; replica %s promoted %v later; paylink wrote to the slot again %v after the promotion",
		master.Addr, promoted.Addr, at.Sub(killed).Round(time.Millisecond), after.Round(time.Millisecond))
	if after > failoverBudget {
		t.Errorf("paylink wrote again %v after the promotion, want within %v", after, failoverBudget)
	}
	if fails := w.failures(killed, at); len(fails) == 0 {
		t.Errorf("Ready never failed while the slot had no master")
	}
	// The write landed on the promoted node.
	if n, err := promoted.Client().Exists(context.Background(), prefix+"{events}:ready").Result(); err != nil || n != 1 {
		t.Errorf("the promoted master holds no readiness key: %d, %v", n, err)
	}
}

// TestSentinelFailover: a Sentinel set fails over twice, by SENTINEL FAILOVER (the old
// master is demoted and answers READONLY) and after a SIGKILL of the master; each
// time paylink's client writes again within 10 s of the promotion.
func TestSentinelFailover(t *testing.T) {
	t.Parallel()
	needFailoverRig(t)
	for _, how := range []string{"SENTINEL FAILOVER", "SIGKILL"} {
		t.Run(how, func(t *testing.T) {
			set := redistest.StartSentinel(t, redistest.SentinelOptions{})
			rc, err := store.ParseRedisURL(set.URL)
			if err != nil {
				t.Fatal(err)
			}
			rdb := rc.NewClient()
			defer rdb.Close()
			prefix := "paylinktest:failover:"
			s := store.New(rdb, store.Options{Prefix: prefix})
			if err := s.Ready(context.Background()); err != nil {
				t.Fatalf("Ready before the failover: %v", err)
			}
			old := set.Master(t)
			w := startWriter(s)
			defer w.Stop()
			time.Sleep(300 * time.Millisecond)
			start := time.Now()
			var promoted *redistest.Node
			var at time.Time
			if how == "SIGKILL" {
				old.Kill(t)
				promoted, at = set.WaitNewMaster(t, old.Addr, 30*time.Second)
			} else {
				promoted, at = set.Failover(t, 30*time.Second)
			}
			after := w.waitWrite(t, at)
			w.Stop()
			t.Logf("%s: %s promoted %v after the start; paylink wrote again %v after the promotion",
				how, promoted.Addr, at.Sub(start).Round(time.Millisecond), after.Round(time.Millisecond))
			if after > failoverBudget {
				t.Errorf("paylink wrote again %v after the promotion, want within %v", after, failoverBudget)
			}
			if how == "SIGKILL" {
				return
			}
			// The demoted master can't be written: Ready on it fails with READONLY.
			// The sentinels turn it into a replica when they next look at it (INFO,
			// every 10 s for a replica), so this may take a while.
			demoted := store.New(old.Client(), store.Options{Prefix: prefix})
			deadline := time.Now().Add(30 * time.Second)
			for {
				err := demoted.Ready(context.Background())
				if err != nil && strings.Contains(err.Error(), "READONLY") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("Ready on the demoted master = %v, want a READONLY error", err)
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}
