package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paylink/paylink/bot/fakeslack"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/dojo/dojotest"
)

// proxied puts a TCP proxy that can cut the connection between paylink and the
// target's single Redis node.
func proxied(t *testing.T, r redisTarget) (redisTarget, *tcpProxy) {
	t.Helper()
	if strings.Contains(r.url, "cluster=") || strings.Contains(r.url, "master_name=") {
		t.Skip("cutting Redis off needs a single-node REDIS_URL; the topology fault suite covers Cluster and Sentinel")
	}
	u, err := url.Parse(r.url)
	if err != nil {
		t.Fatalf("REDIS_URL: %v", err)
	}
	proxy := newTCPProxy(t, u.Host)
	via := r
	u.Host = proxy.Addr()
	via.url = u.String()
	return via, proxy
}

// afterWebhook holds a Slack call until the test has the webhook's answer. A worker may
// post the notice before the webhook's own reply from Redis has come back through the
// proxy; cutting Redis then would fail the webhook (a 503, which Dojo retries), not the
// notice's record, which is what these tests are about.
func afterWebhook(answered <-chan struct{}) {
	select {
	case <-answered:
	case <-time.After(30 * time.Second):
	}
}

// TestPostedNoticeSurvivesRedisOutage: Redis goes away just as Slack takes a "Paid"
// notice, and stays away longer than a notice may sit idle before another consumer
// takes it over. The worker that posted it keeps trying to record it; once Redis is
// back the notice is recorded and settled, and never posted a second time.
func TestPostedNoticeSurvivesRedisOutage(t *testing.T) {
	t.Parallel()
	for _, r := range redisTargets(t) {
		t.Run(r.name, func(t *testing.T) {
			via, proxy := proxied(t, r)
			const claimIdle = 3 * time.Second
			h := startPaylink(t, via, env{
				"PAYLINK_NOTIFY_CLAIM_IDLE":  claimIdle.String(),
				"PAYLINK_NOTIFY_RETRY_BASE":  "100ms",
				"PAYLINK_RECONCILE_INTERVAL": "1h",
			})
			id, _ := h.makeLink("10 GBP outage-1")
			var cut sync.Once
			answered := make(chan struct{})
			h.slack.OnCall(func(c fakeslack.Call) {
				if c.Method == "chat.postMessage" && strings.Contains(c.Text, "Paid") {
					cut.Do(func() { afterWebhook(answered); proxy.Down() })
				}
			})
			h.dojo.SetStatus(id, dojo.StatusCaptured)
			code := h.sendWebhook(dojotest.Event(id, dojo.StatusCaptured))
			close(answered)
			if code != http.StatusOK {
				t.Fatalf("webhook: %d", code)
			}
			waitNotices(t, h.slack, "Paid", 1, 10*time.Second)
			waitFor(t, "the worker to notice the record failed", func() bool {
				return strings.Contains(h.out.String(), "notice posted but not yet recorded")
			})
			// The outage outlasts the claim-idle time: a notice whose consumer went
			// quiet that long would be taken over.
			time.Sleep(claimIdle + time.Second)
			proxy.Up()
			waitFor(t, "the notice to be recorded", func() bool {
				return strings.Contains(h.out.String(), "notice posted earlier now recorded")
			})
			ctx := context.Background()
			waitFor(t, "no notice left pending", func() bool {
				p, err := r.rdb.XPending(ctx, r.prefix+"{events}:notify", "notifiers").Result()
				return err == nil && p.Count == 0
			})
			// Give a wrongful take-over every chance to happen before counting.
			time.Sleep(claimIdle + time.Second)
			if n := len(notices(h.slack, "Paid")); n != 1 {
				t.Errorf("%d Paid messages, want exactly 1", n)
			}
			rec := r.rdb.HGetAll(ctx, r.prefix+"link:{"+id+"}").Val()
			if rec["notice:Captured"] == "" || rec["status"] != "Captured" {
				t.Errorf("record after the outage: %v", rec)
			}
		})
	}
}

// TestTakeOverWaitsForAHungRecord: two replicas. Redis goes away from one (a) while the
// other (b) takes a "Paid" notice; b posts it, and then its Redis stops answering
// without closing anything, so b's attempts to record the notice, and its heartbeat,
// hang. a's Redis comes back first. The notice looks idle to a long before b can record
// it, but a does not take it over so soon after its own Redis failed: b records it
// once its Redis answers, and the agent gets one "Paid", not two.
func TestTakeOverWaitsForAHungRecord(t *testing.T) {
	t.Parallel()
	for _, r := range redisTargets(t) {
		t.Run(r.name, func(t *testing.T) {
			viaA, proxyA := proxied(t, r)
			viaB, proxyB := proxied(t, r)
			cfg := env{
				"PAYLINK_NOTIFY_CLAIM_IDLE":  "1s",
				"PAYLINK_NOTIFY_RETRY_BASE":  "100ms",
				"PAYLINK_RECONCILE_INTERVAL": "1h",
			}
			a := startPaylink(t, viaA, cfg)
			b := startPaylinkWith(t, viaB, cfg, a.dojo, a.slack)
			id, _ := b.makeLink("10 GBP hung-record")

			proxyA.Down()
			waitFor(t, "a to find Redis gone", func() bool {
				return strings.Contains(a.out.String(), "could not read notifications")
			})
			var hang sync.Once
			posted := make(chan struct{})
			answered := make(chan struct{})
			b.slack.OnCall(func(c fakeslack.Call) {
				if c.Method == "chat.postMessage" && strings.Contains(c.Text, "Paid") {
					hang.Do(func() { afterWebhook(answered); proxyB.Hang(); close(posted) })
				}
			})
			b.dojo.SetStatus(id, dojo.StatusCaptured)
			code := b.sendWebhook(dojotest.Event(id, dojo.StatusCaptured))
			close(answered)
			if code != http.StatusOK {
				t.Fatalf("webhook: %d", code)
			}
			select {
			case <-posted:
			case <-time.After(15 * time.Second):
				t.Fatal("b did not post the Paid notice")
			}
			// a's Redis is back; b's stays silent for three ClaimIdles more: long enough,
			// but for the quiet a keeps after its own failure, for a to take the notice
			// over and post it again.
			proxyA.Up()
			time.Sleep(3 * time.Second)
			proxyB.Resume()

			ctx := context.Background()
			waitFor(t, "b to record the notice", func() bool {
				return r.rdb.HGet(ctx, r.prefix+"link:{"+id+"}", "notice:Captured").Val() != ""
			})
			waitFor(t, "no notice left pending", func() bool {
				p, err := r.rdb.XPending(ctx, r.prefix+"{events}:notify", "notifiers").Result()
				return err == nil && p.Count == 0
			})
			// Give a wrongful take-over every chance to happen before counting: past the
			// quiet a keeps after a Redis failure (5 s, a pause, ClaimIdle).
			time.Sleep(8 * time.Second)
			if n := len(notices(a.slack, "Paid")); n != 1 {
				t.Errorf("%d Paid messages, want exactly 1\na's log:\n%s", n, a.out.String())
			}
		})
	}
}
