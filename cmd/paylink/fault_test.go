package main

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/paylink/paylink/bot/fakeslack"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/dojo/dojotest"
)

// TestFaultSuite drives real paylink processes through failing parts and counts what
// reaches the agents: Dojo 5xx storms and timeouts while links are made; then, while
// payments are reported, Slack 5xx and 429 storms, Redis cut off and back, a process
// killed with SIGKILL and replaced, and webhooks that never come. Every payment must be
// announced: lost must be 0; duplicates are reported (only a kill can cause one).
func TestFaultSuite(t *testing.T) {
	t.Parallel()
	if os.Getenv("REDIS_URL") == "" {
		t.Skip("REDIS_URL is not set: the fault suite runs real processes against a real Redis (CI sets it)")
	}
	target := realRedis(t, "paylinkfault")
	url, prefix, rdb := target.url, target.prefix, target.rdb
	addr := target.singleAddr(t)
	const links = 30
	bin := buildPaylink(t)
	proxy := newTCPProxy(t, addr)
	viaProxy := strings.Replace(url, addr, proxy.Addr(), 1)

	h := &harness{
		t:     t,
		dojo:  dojotest.NewServer(t, dojotest.WithAPIKey(testDojoKey)),
		slack: fakeslack.New(t, fakeslack.WithToken(testBotToken)),
		redis: target,
		out:   &syncBuffer{},
	}
	port := freePort(t)
	h.url = "http://127.0.0.1:" + port
	e := env{
		"PATH": os.Getenv("PATH"), "PORT": port,
		"SLACK_SIGNING_SECRET": testSigningSecret, "SLACK_BOT_TOKEN": testBotToken, "SLACK_API_URL": h.slack.APIURL(),
		"DOJO_API_KEY": testDojoKey, "DOJO_API_URL": h.dojo.URL, "DOJO_WEBHOOK_SECRET": testWebhookSecret,
		"DOJO_TIMEOUT": "700ms", "REDIS_URL": viaProxy, "PAYLINK_REDIS_PREFIX": prefix,
		"PAYLINK_NOTIFY_CLAIM_IDLE": "1s", "PAYLINK_NOTIFY_RETRY_BASE": "100ms", "PAYLINK_NOTIFY_RETRY_MAX": "1s",
		"PAYLINK_NOTIFY_MAX_ATTEMPTS": "100", "PAYLINK_RECONCILE_INTERVAL": "3s", "PAYLINK_RECONCILE_RATE": "50",
		"PAYLINK_RATE_LIMIT": "off", "LOG_LEVEL": "info",
	}
	first := startProcess(t, bin, h.url, e)

	// Phase 1: links, while Dojo fails and stalls. An agent whose command failed types
	// it again, as agents do.
	var commands atomic.Int64
	h.dojo.FailNext(5, http.StatusServiceUnavailable, `{"title":"Service Unavailable","status":503}`)
	ids := make([]string, links)
	for i := range links {
		ref := fmt.Sprintf("fault-%02d", i)
		for attempt := 0; ids[i] == ""; attempt++ {
			if attempt == 8 {
				t.Fatalf("%s: no link after %d commands", ref, attempt)
			}
			// Links 10 to 12: Dojo answers after DOJO_TIMEOUT the first time.
			if i >= 10 && i <= 12 {
				h.dojo.SetLatency(map[bool]time.Duration{true: time.Second}[attempt == 0])
			}
			commands.Add(1)
			h.sendCommand(h.commandForm(fmt.Sprintf("%d.00 GBP %s", i+1, ref), ref))
			deadline := time.Now().Add(3 * time.Second)
			for ids[i] == "" && time.Now().Before(deadline) {
				for _, c := range h.slack.Calls("chat.postMessage") {
					if c.Failed == "" && strings.Contains(c.Text, " for "+ref+":") {
						for _, pi := range h.dojo.Created() {
							if strings.Contains(c.Text, pi.ID) {
								ids[i] = pi.ID
							}
						}
					}
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
	t.Logf("phase 1: %d links from %d commands; Dojo holds %d intents (%d made by a create that timed out and was not found again)",
		links, commands.Load(), len(h.dojo.Created()), len(h.dojo.Created())-links)

	// Phase 2: every link is paid; Dojo delivers webhooks (again until it gets a 2xx)
	// for all but the last three, which only reconciliation can find.
	for _, id := range ids {
		h.dojo.SetStatus(id, dojo.StatusCaptured)
	}
	h.slack.Fail("chat.postMessage", fakeslack.Failure{Status: http.StatusInternalServerError, Times: 25})
	h.slack.Fail("chat.postMessage", fakeslack.Failure{Status: http.StatusTooManyRequests, RetryAfter: 1, Times: 5})
	h.dojo.FailNext(10, http.StatusBadGateway, `{"title":"Bad Gateway","status":502}`)
	var deliveries, refused atomic.Int64
	var wg sync.WaitGroup
	for i, id := range ids[:links-3] {
		wg.Go(func() {
			time.Sleep(time.Duration(i*60) * time.Millisecond)
			ev := dojotest.Event(id, dojo.StatusCaptured)
			for range 200 {
				deliveries.Add(1)
				code, err := dojotest.SendWebhook(t.Context(), h.url+"/dojo/webhooks", testWebhookSecret, ev)
				if err == nil && code/100 == 2 {
					return
				}
				refused.Add(1)
				time.Sleep(150 * time.Millisecond)
			}
			t.Errorf("webhook for %s never accepted", id)
		})
	}
	time.Sleep(500 * time.Millisecond)
	proxy.Down()
	time.Sleep(1500 * time.Millisecond)
	proxy.Up()
	time.Sleep(300 * time.Millisecond)
	first.cmd.Process.Signal(syscall.SIGKILL)
	first.cmd.Wait()
	second := startProcess(t, bin, h.url, e)
	wg.Wait()

	deadline := time.Now().Add(60 * time.Second)
	perLink := map[string]int{}
	for {
		clear(perLink)
		for _, c := range notices(h.slack, "Paid:") {
			for _, id := range ids {
				if c.ThreadTS != "" {
					if rec := rdb.HGet(t.Context(), prefix+"link:{"+id+"}", "msg_ts").Val(); rec == c.ThreadTS {
						perLink[id]++
					}
				}
			}
		}
		if len(perLink) == links || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // let anything late show itself
	clear(perLink)
	for _, c := range notices(h.slack, "Paid:") {
		for _, id := range ids {
			if rdb.HGet(t.Context(), prefix+"link:{"+id+"}", "msg_ts").Val() == c.ThreadTS {
				perLink[id]++
			}
		}
	}
	lost, dup := 0, 0
	for _, id := range ids {
		switch n := perLink[id]; {
		case n == 0:
			lost++
		case n > 1:
			dup += n - 1
		}
	}
	failedSlack := 0
	for _, c := range h.slack.Calls("chat.postMessage") {
		if c.Failed != "" {
			failedSlack++
		}
	}
	t.Logf("fault suite: operations sent: %d commands, %d webhook deliveries (%d refused while Redis was cut off or the process was down); Slack calls failed: %d; paid messages expected %d, delivered %d, lost %d, duplicated %d (one SIGKILL)",
		commands.Load(), deliveries.Load(), refused.Load(), failedSlack, links, len(perLink), lost, dup)
	if lost != 0 {
		t.Errorf("%d payments were never announced", lost)
	}
	if dup > 1 {
		t.Errorf("%d duplicated Paid messages with one kill, want at most 1", dup)
	}
	second.cmd.Process.Signal(syscall.SIGTERM)
	second.cmd.Wait()
}
