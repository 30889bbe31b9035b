package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/paylink/paylink/store"
	"github.com/paylink/paylink/store/redistest"
)

// backend is a Redis a test runs against.
type backend struct {
	name string
	rdb  redis.UniversalClient
	mr   *miniredis.Miniredis // nil for a real Redis
}

// backends returns miniredis and, when REDIS_URL is set, the real Redis it names (a
// single server, Sentinel or Cluster).
func backends(t *testing.T) []backend {
	t.Helper()
	mr := miniredis.RunT(t)
	mem := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { mem.Close() })
	out := []backend{{name: "miniredis", rdb: mem, mr: mr}}
	if real := sharedRedis(t); real != nil {
		out = append(out, backend{name: "redis", rdb: real})
	} else {
		t.Log("REDIS_URL is not set: running against miniredis only")
	}
	return out
}

var (
	sharedOnce sync.Once
	shared     redis.UniversalClient
	sharedErr  error
)

// sharedRedis is one client of the Redis REDIS_URL names for the whole run, or nil
// when it is not set.
func sharedRedis(t *testing.T) redis.UniversalClient {
	t.Helper()
	if os.Getenv("REDIS_URL") == "" {
		return nil
	}
	sharedOnce.Do(func() {
		rc, err := store.ParseRedisURL(os.Getenv("REDIS_URL"))
		if err != nil {
			sharedErr = err
			return
		}
		shared = rc.NewClient()
	})
	if sharedErr != nil {
		t.Fatalf("REDIS_URL: %v", sharedErr)
	}
	return shared
}

// uniquePrefix keeps tests on a shared real Redis apart; the keys under it are
// removed from the real Redis when the test ends.
func uniquePrefix(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	prefix := "paylinktest:" + hex.EncodeToString(b) + ":"
	if real := sharedRedis(t); real != nil {
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := redistest.DropPrefix(ctx, real, prefix); err != nil {
				t.Errorf("remove the test's keys: %v", err)
			}
		})
	}
	return prefix
}

func sampleLink(id string) store.Link {
	return store.Link{
		IntentID:    id,
		TeamID:      "T1",
		ChannelID:   "C1",
		UserID:      "U1",
		ResponseURL: "https://hooks.slack.com/commands/T1/1/x",
		Amount:      1000,
		Currency:    "GBP",
		Reference:   "ref-123 <!channel> & co",
		Status:      "Created",
		CreatedAt:   time.UnixMilli(1_700_000_000_123).UTC(),
		TestMode:    true,
	}
}

func TestSaveAndGetLink(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			prefix := uniquePrefix(t)
			s := store.New(b.rdb, store.Options{Prefix: prefix})
			want := sampleLink("pi_sandbox_abc")
			if err := s.SaveLink(ctx, want, nil, 10*time.Minute); err != nil {
				t.Fatalf("SaveLink: %v", err)
			}
			got, err := s.Link(ctx, want.IntentID)
			if err != nil {
				t.Fatalf("Link: %v", err)
			}
			want.Notices = map[string]string{}
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("Link() = %+v, want %+v", *got, want)
			}
			ttl := b.rdb.PTTL(ctx, prefix+"link:{pi_sandbox_abc}").Val()
			if ttl < 30*24*time.Hour {
				t.Errorf("link TTL = %v, want more than Dojo's 30-day intent life", ttl)
			}
			if _, err := s.Link(ctx, "pi_missing"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Link(missing) error = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestLinkPosted(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			prefix := uniquePrefix(t)
			s := store.New(b.rdb, store.Options{Prefix: prefix})
			l := sampleLink("pi_1")
			if err := s.SaveLink(ctx, l, nil, 0); err != nil {
				t.Fatal(err)
			}
			if err := s.LinkPosted(ctx, "pi_1", "C1", "1700000000.000100", store.AuditEvent{Event: "created"}); err != nil {
				t.Fatalf("LinkPosted: %v", err)
			}
			got, _ := s.Link(ctx, "pi_1")
			if got.MessageChannel != "C1" || got.MessageTS != "1700000000.000100" {
				t.Errorf("message = %q/%q, want C1/1700000000.000100", got.MessageChannel, got.MessageTS)
			}
			if ttl := b.rdb.PTTL(ctx, prefix+"link:{pi_1}").Val(); ttl <= 0 {
				t.Errorf("TTL after update = %v, want it kept", ttl)
			}
			if err := s.LinkPosted(ctx, "pi_gone", "C1", "1.2", store.AuditEvent{Event: "created"}); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("LinkPosted(missing) = %v, want ErrNotFound", err)
			}
			if n := b.rdb.Exists(ctx, prefix+"link:{pi_gone}").Val(); n != 0 {
				t.Errorf("LinkPosted created a record for a missing link")
			}
		})
	}
}

// TestNoticePosted: a notice's record and its audit event are written together; a
// record that is gone is not brought back, and the event is still written.
func TestNoticePosted(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := store.New(b.rdb, store.Options{Prefix: uniquePrefix(t)})
			if err := s.SaveLink(ctx, sampleLink("pi_1"), nil, 0); err != nil {
				t.Fatal(err)
			}
			start := time.Now().Add(-time.Second)
			paid := store.AuditEvent{Event: "paid", Team: "T1", Intent: "pi_1", Amount: 1000, Currency: "GBP"}
			audited, err := s.NoticePosted(ctx, "pi_1", "Captured", "1700000000.000200", "Captured", paid)
			if err != nil || !audited {
				t.Fatalf("NoticePosted = %v, %v", audited, err)
			}
			got, _ := s.Link(ctx, "pi_1")
			if got.Notices["Captured"] != "1700000000.000200" || got.Status != "Captured" || got.StatusAt.IsZero() {
				t.Errorf("record after the notice: notices %v, status %s at %v", got.Notices, got.Status, got.StatusAt)
			}
			gone := store.AuditEvent{Event: "paid", Team: "T1", Intent: "pi_gone"}
			if audited, err := s.NoticePosted(ctx, "pi_gone", "Captured", "1.2", "Captured", gone); !errors.Is(err, store.ErrNotFound) || !audited {
				t.Errorf("NoticePosted(missing) = %v, %v; want the event written and ErrNotFound", audited, err)
			}
			if n, _ := s.Link(ctx, "pi_gone"); n != nil {
				t.Error("NoticePosted made a record for a missing link")
			}
			events, err := s.AuditSince(ctx, start)
			if err != nil || len(events) != 2 || events[0].Event != "paid" || events[0].Intent != "pi_1" || events[0].Amount != 1000 || events[1].Intent != "pi_gone" {
				t.Errorf("audit = %+v, %v", events, err)
			}
		})
	}
}

func TestClaimCommand(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := store.New(b.rdb, store.Options{Prefix: uniquePrefix(t)})

			first, err := s.ClaimCommand(ctx, store.ClaimRequest{Fingerprint: "fp", Token: "tok1", PendingTTL: time.Minute})
			if err != nil || !first.Won {
				t.Fatalf("first claim = %+v, %v; want won", first, err)
			}
			second, err := s.ClaimCommand(ctx, store.ClaimRequest{Fingerprint: "fp", Token: "tok2", PendingTTL: time.Minute})
			if err != nil || second.Won || second.IntentID != "" {
				t.Fatalf("claim while pending = %+v, %v; want neither won nor an intent", second, err)
			}
			// A claim that was not won releases nothing.
			if err := s.ReleaseCommand(ctx, second); err != nil {
				t.Fatal(err)
			}
			if c, _ := s.ClaimCommand(ctx, store.ClaimRequest{Fingerprint: "fp", Token: "tok3", PendingTTL: time.Minute}); c.Won {
				t.Fatalf("claim released by a claim that was not won")
			}
			if err := s.SaveLink(ctx, sampleLink("pi_made"), &first, 10*time.Minute); err != nil {
				t.Fatal(err)
			}
			again, err := s.ClaimCommand(ctx, store.ClaimRequest{Fingerprint: "fp", Token: "tok4", PendingTTL: time.Minute})
			if err != nil || again.Won || again.IntentID != "pi_made" {
				t.Fatalf("claim after save = %+v, %v; want the existing intent pi_made", again, err)
			}
			// Releasing after the save leaves the intent in place.
			if err := s.ReleaseCommand(ctx, first); err != nil {
				t.Fatal(err)
			}
			if c, _ := s.ClaimCommand(ctx, store.ClaimRequest{Fingerprint: "fp", Token: "tok5", PendingTTL: time.Minute}); c.IntentID != "pi_made" {
				t.Fatalf("release after save dropped the intent: %+v", c)
			}

			// A failed attempt releases its claim and the command can be tried again.
			a, _ := s.ClaimCommand(ctx, store.ClaimRequest{Fingerprint: "fp2", Token: "a", PendingTTL: time.Minute})
			if !a.Won {
				t.Fatal("want won")
			}
			if err := s.ReleaseCommand(ctx, a); err != nil {
				t.Fatal(err)
			}
			if c, _ := s.ClaimCommand(ctx, store.ClaimRequest{Fingerprint: "fp2", Token: "b", PendingTTL: time.Minute}); !c.Won {
				t.Fatalf("claim after release = %+v, want won", c)
			}
		})
	}
}

func TestClaimLapses(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	ctx := context.Background()
	s := store.New(rdb, store.Options{})
	if c, _ := s.ClaimCommand(ctx, store.ClaimRequest{Fingerprint: "fp", Token: "t", PendingTTL: time.Minute}); !c.Won {
		t.Fatal("want won")
	}
	mr.FastForward(61 * time.Second)
	c, _ := s.ClaimCommand(ctx, store.ClaimRequest{Fingerprint: "fp", Token: "t2", PendingTTL: time.Minute})
	if !c.Won {
		t.Fatalf("a pending claim never settled must lapse; got %+v", c)
	}
	if err := s.SaveLink(ctx, sampleLink("pi_x"), &c, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	mr.FastForward(10*time.Minute + time.Second)
	if c, _ := s.ClaimCommand(ctx, store.ClaimRequest{Fingerprint: "fp", Token: "t3", PendingTTL: time.Minute}); !c.Won {
		t.Fatalf("the re-type window must end after 10 minutes; got %+v", c)
	}
}

func TestRedisDown(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer rdb.Close()
	s := store.New(rdb, store.Options{})
	mr.Close()
	ctx := context.Background()
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping with Redis down = nil, want an error")
	}
	if _, err := s.ClaimCommand(ctx, store.ClaimRequest{Fingerprint: "fp", Token: "t", PendingTTL: time.Minute}); err == nil {
		t.Error("ClaimCommand with Redis down = nil error")
	}
	if err := s.SaveLink(ctx, sampleLink("pi"), nil, time.Minute); err == nil {
		t.Error("SaveLink with Redis down = nil error")
	}
}
