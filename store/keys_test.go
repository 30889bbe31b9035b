package store_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/paylink/paylink/store"
)

// keyCheck is a go-redis hook that checks every script call: each declared key is a
// real name, and all of a call's keys share one Cluster hash tag (so one slot).
type keyCheck struct {
	mu       sync.Mutex
	problems []string
	scripts  int
}

func (k *keyCheck) DialHook(next redis.DialHook) redis.DialHook { return next }

func (k *keyCheck) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		k.check(cmd)
		return next(ctx, cmd)
	}
}

func (k *keyCheck) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, c := range cmds {
			k.check(c)
		}
		return next(ctx, cmds)
	}
}

// hashTag is the part of key Redis Cluster hashes: the text inside the first {…}
// that is not empty, else the whole key.
func hashTag(key string) string {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			return key[i+1 : i+1+j]
		}
	}
	return key
}

func (k *keyCheck) check(cmd redis.Cmder) {
	name := strings.ToLower(cmd.Name())
	if name != "eval" && name != "evalsha" {
		return
	}
	args := cmd.Args()
	n, _ := strconv.Atoi(fmt.Sprint(args[2]))
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprint(args[3+i])
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.scripts++
	for _, key := range keys {
		if key == "" || strings.HasSuffix(key, ":") {
			k.problems = append(k.problems, fmt.Sprintf("script with an empty key name: %q", keys))
		}
		if hashTag(key) != hashTag(keys[0]) {
			k.problems = append(k.problems, fmt.Sprintf("script keys in more than one slot: %q", keys))
		}
	}
}

// TestScriptKeysShareOneSlot runs every step that uses a script, with every option on
// and off, and checks that each declares real keys in one slot: on Redis Cluster a
// script whose keys span slots fails with CROSSSLOT.
func TestScriptKeysShareOneSlot(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	hook := &keyCheck{}
	rdb.AddHook(hook)
	ctx := context.Background()
	s := store.New(rdb, store.Options{})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	requests := []store.ClaimRequest{
		{Fingerprint: "bare", Token: "t1", PendingTTL: time.Minute},
		{Fingerprint: "signed", Token: "t2", PendingTTL: time.Minute, Signature: "v0=abc"},
		{Fingerprint: "ref", Token: "t3", PendingTTL: time.Minute, Dup: store.DupCheck{Team: "T1", Reference: "r1"}},
		{Fingerprint: "anyway", Token: "t4", PendingTTL: time.Minute, Dup: store.DupCheck{Team: "T1", Reference: "r2", Skip: true}},
		{Fingerprint: "rated", Token: "t5", PendingTTL: time.Minute, Rate: store.RateCheck{Team: "T1", User: "U1", Limit: 5, Window: time.Hour}},
		{Fingerprint: "all", Token: "t6", PendingTTL: time.Minute, Signature: "v0=def",
			Dup: store.DupCheck{Team: "T1", Reference: "r3"}, Rate: store.RateCheck{Team: "T1", User: "U1", Limit: 5, Window: time.Hour}},
	}
	for i, req := range requests {
		c, err := s.ClaimCommand(ctx, req)
		must(err)
		if !c.Won {
			t.Fatalf("claim %s = %+v", req.Fingerprint, c)
		}
		if i%2 == 0 {
			must(s.ReleaseCommand(ctx, c))
			continue
		}
		l := sampleLink("pi_" + req.Fingerprint)
		l.Reference = req.Dup.Reference
		must(s.SaveLink(ctx, l, &c, time.Minute))
		must(s.LinkPosted(ctx, l.IntentID, "C1", "1.2", store.AuditEvent{Event: "created"}))
		must(s.SetNoticePosted(ctx, l.IntentID, "Captured", "1.3", "Captured"))
	}
	for _, e := range []store.StatusEvent{
		{IntentID: "pi_signed", Status: "Captured", EventID: "e1", Source: "webhook"},
		{IntentID: "pi_anyway", Status: "Canceled", EventID: "e2", Source: "slack", Origin: store.Origin{Team: "T1", Reference: "r2", Currency: "GBP", Amount: 5}},
		{IntentID: "pi_all", Status: "Refunded", EventID: "e3", Source: "webhook", Origin: store.Origin{Team: "T1", Reference: "r3", User: "U1", Currency: "GBP", Amount: 5}},
		{IntentID: "pi_all", Status: "Captured", EventID: "e4", Source: "webhook", Origin: store.Origin{Team: "T1", Reference: "r3", User: "U1", Currency: "GBP", Amount: 5}},
	} {
		_, err := s.RecordStatus(ctx, e)
		must(err)
	}
	refund := store.Refund{Key: "k1", Kind: store.KindRefund, Amount: 100, User: "U1", At: time.Now()}
	_, err := s.ReserveRefund(ctx, "pi_signed", refund)
	must(err)
	_, err = s.RetakeRefund(ctx, "pi_signed", refund, refund)
	must(err)
	_, err = s.CompleteRefund(ctx, "pi_signed", refund, "Refunded")
	must(err)
	must(s.ReleaseRefund(ctx, "pi_signed", refund))
	must(s.NoteDojoRefunded(ctx, "pi_signed", 100))
	must(s.EnsureGroup(ctx))
	notes, err := s.ReadNotifications(ctx, "c1", 3, 0)
	must(err)
	if len(notes) != 3 {
		t.Fatalf("%d notifications, want 3", len(notes))
	}
	must(s.Retry(ctx, notes[0], time.Now().Add(-time.Second), true))
	must(s.DeadLetter(ctx, notes[1], "test"))
	_, err = s.PromoteDue(ctx, 10)
	must(err)
	must(s.Audit(ctx, store.AuditEvent{Event: "refused", Team: "T1", User: "U1", Detail: "not allowed"}))
	_, err = s.TryLock(ctx, "reconcile", "tok", time.Minute)
	must(err)
	_, err = s.ExtendLock(ctx, "reconcile", "tok", time.Minute)
	must(err)
	_, err = s.DueExpiries(ctx, time.Now().Add(time.Hour), 10)
	must(err)
	_, err = s.DueReminders(ctx, time.Now(), time.Now().Add(-time.Hour), 10)
	must(err)

	hook.mu.Lock()
	defer hook.mu.Unlock()
	if hook.scripts < 20 {
		t.Errorf("only %d script calls seen: the check did not run", hook.scripts)
	}
	for _, p := range hook.problems {
		t.Error(p)
	}
}
