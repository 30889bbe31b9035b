package digest_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/jonboulle/clockwork"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"github.com/paylink/paylink/bot/digest"
	"github.com/paylink/paylink/store"
	"github.com/paylink/paylink/store/redistest"
)

// stores returns a store on miniredis and, when REDIS_URL is set, one on that Redis
// (under a prefix of its own, removed at the end), both following clock's time.
func stores(t *testing.T, clock clockwork.Clock) map[string]*store.Store {
	t.Helper()
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	mr := miniredis.RunT(t)
	mem := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { mem.Close() })
	out := map[string]*store.Store{"miniredis": store.New(mem, store.Options{Now: clock.Now, Location: loc})}
	if raw := os.Getenv("REDIS_URL"); raw != "" {
		rc, err := store.ParseRedisURL(raw)
		if err != nil {
			t.Fatal(err)
		}
		rdb := rc.NewClient()
		b := make([]byte, 6)
		rand.Read(b)
		prefix := "paylinktest:" + hex.EncodeToString(b) + ":"
		t.Cleanup(func() {
			redistest.DropPrefix(context.Background(), rdb, prefix)
			rdb.Close()
		})
		out["redis"] = store.New(rdb, store.Options{Prefix: prefix, Now: clock.Now, Location: loc})
	}
	return out
}

func london(t *testing.T, y int, m time.Month, d, h, min int) time.Time {
	t.Helper()
	loc, _ := time.LoadLocation("Europe/London")
	return time.Date(y, m, d, h, min, 0, 0, loc)
}

func TestBuild(t *testing.T) {
	clock := clockwork.NewFakeClockAt(london(t, 2026, 11, 29, 10, 0))
	for name, st := range stores(t, clock) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			save := func(id, user string, amount int64, age time.Duration) store.Link {
				l := store.Link{IntentID: id, TeamID: "T1", ChannelID: "C1", UserID: user, Amount: amount, Currency: "GBP",
					Reference: "ref " + id, Status: "Created", CreatedAt: clock.Now().Add(-age)}
				if err := st.SaveLink(ctx, l, nil, time.Minute); err != nil {
					t.Fatal(err)
				}
				return l
			}
			paid := save("pi_paid", "U1", 1000, time.Hour)
			save("pi_old", "U2", 200, 3*time.Hour)
			save("pi_new", "U2", 300, 2*time.Hour)
			if _, err := st.RecordStatus(ctx, store.StatusEvent{IntentID: paid.IntentID, Status: "Captured", EventID: "e", Source: "webhook",
				Origin: store.Origin{Team: "T1", User: "U1", Currency: "GBP", Amount: 1000}}); err != nil {
				t.Fatal(err)
			}
			r, err := digest.Build(ctx, st, "2026-11-29", clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Totals.Of(store.KindCreated)["GBP"]; got != (store.Total{Count: 3, Amount: 1500}) {
				t.Errorf("created = %+v, want 3 for 1500", got)
			}
			if got := r.Totals.Agents["U1"]["GBP"]; got != (store.Total{Count: 1, Amount: 1000}) {
				t.Errorf("U1 paid = %+v", got)
			}
			var open []string
			for _, l := range r.Oldest {
				open = append(open, l.IntentID)
			}
			if strings.Join(open, " ") != "pi_old pi_new" {
				t.Errorf("oldest open = %v, want pi_old pi_new (the paid one left out)", open)
			}

			for _, bad := range []string{"2026-11-30", "2027-01-01", "29/11/2026", "2026-11-31", ""} {
				if _, err := digest.Build(ctx, st, bad, clock.Now()); !errors.Is(err, digest.ErrBadDay) {
					t.Errorf("Build(%q) error = %v, want ErrBadDay", bad, err)
				}
			}
		})
	}
}

// posts records what a scheduler posted, and can fail.
type posts struct {
	mu   sync.Mutex
	days []string
	fail int // fail this many posts first
	got  chan string
}

func (p *posts) post(ctx context.Context, channel, text string, blocks []slack.Block) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail > 0 {
		p.fail--
		p.got <- "failed"
		return errors.New("slack is down")
	}
	p.days = append(p.days, text)
	p.got <- text
	return nil
}

// TestSchedulerPostsOnceAcrossReplicas runs two replicas' schedulers on one Redis and
// a fake clock through two days: each day's digest is posted once, at 09:00 London
// time, and a failed post is tried again a minute later.
func TestSchedulerPostsOnceAcrossReplicas(t *testing.T) {
	start := london(t, 2026, 11, 30, 7, 0)
	for name := range stores(t, clockwork.NewFakeClockAt(start)) {
		t.Run(name, func(t *testing.T) {
			clock := clockwork.NewFakeClockAt(start)
			st := stores(t, clock)[name]
			p := &posts{got: make(chan string, 10), fail: 1}
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			t.Cleanup(func() { cancel(); wg.Wait() })
			for _, token := range []string{"replica-a", "replica-b"} {
				s := &digest.Scheduler{Log: zerolog.Nop(), Store: st, Post: p.post, Channel: "C_DIGEST", At: 9 * time.Hour,
					Clock: clock, Token: token}
				wg.Go(func() { s.Run(ctx) })
			}
			waiting := func() {
				t.Helper()
				wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
				defer wcancel()
				if err := clock.BlockUntilContext(wctx, 2); err != nil {
					t.Fatalf("the schedulers did not wait: %v", err)
				}
			}
			next := func() string {
				t.Helper()
				select {
				case s := <-p.got:
					return s
				case <-time.After(30 * time.Second):
					t.Fatal("nothing posted")
					return ""
				}
			}
			none := func() {
				t.Helper()
				select {
				case s := <-p.got:
					t.Fatalf("posted again: %q", s)
				default:
				}
			}

			waiting()
			clock.Advance(time.Hour + 59*time.Minute) // 08:59 on the 30th: not yet
			waiting()
			none()
			clock.Advance(time.Minute) // 09:00: one replica posts, and Slack fails
			if got := next(); got != "failed" {
				t.Fatalf("first post = %q, want the failure", got)
			}
			waiting()
			var got string
			select {
			case got = <-p.got: // the other replica took the day straight after the failure
			default:
				clock.Advance(time.Minute) // or a minute later
				got = next()
			}
			if !strings.Contains(got, "Sunday 29 November 2026") {
				t.Fatalf("digest = %q, want the 29th's", got)
			}
			waiting()
			for range 3 { // the other replica keeps checking, and finds it posted
				clock.Advance(time.Minute)
				waiting()
			}
			none()
			clock.Advance(24 * time.Hour) // the next morning: the 30th's digest, once
			if got := next(); !strings.Contains(got, "Monday 30 November 2026") {
				t.Fatalf("digest = %q, want the 30th's", got)
			}
			waiting()
			clock.Advance(time.Minute)
			waiting()
			none()
		})
	}
}
