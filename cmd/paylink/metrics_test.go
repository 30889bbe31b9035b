package main

import (
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/paylink/paylink/bot"
	"github.com/paylink/paylink/bot/fakeslack"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/dojo/dojotest"
)

// TestMetrics: after commands, a webhook, a notice and some failures, /metrics shows
// every metric.
func TestMetrics(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, fastNotify)
	id, _ := h.makeLink("10 GBP metrics-1")
	h.sendCommand(h.commandForm("0 GBP bad", "m"))
	h.slack.Fail("chat.postMessage", fakeslack.Failure{Status: 500, Times: 1})
	h.dojo.SetStatus(id, dojo.StatusCaptured)
	h.sendWebhook(dojotest.Event(id, dojo.StatusCaptured))
	h.sendWebhook([]byte(`{}`))
	waitNotices(t, h.slack, "Paid", 1, 5*time.Second)
	// The backlog gauge is refreshed every 5 s: wait for every metric to show.
	wants := []string{
		`paylink_commands_total{outcome="created"} 1`,
		`paylink_commands_total{outcome="rejected"} 1`,
		`paylink_dojo_requests_total{operation="create",status="200"} 1`,
		`paylink_dojo_requests_total{operation="get",status="200"}`,
		`paylink_dojo_request_duration_seconds_bucket{operation="create"`,
		`paylink_webhooks_total{outcome="queued"} 1`,
		`paylink_webhooks_total{outcome="malformed"} 1`,
		`paylink_notifications_total{result="delivered"} 1`,
		`paylink_notifications_total{result="retried"} 1`,
		`paylink_notification_backlog{state="pending"} 0`,
		`paylink_notification_backlog{state="dead"} 0`,
		`paylink_slack_api_errors_total{code="http_500",method="chat.postMessage"} 1`,
		`paylink_http_requests_total{code="200",route="POST /slack/commands"}`,
		`paylink_build_info{goversion="` + runtime.Version() + `",version="` + currentVersion() + `"} 1`,
		`paylink_commands_limit 2000`,
		`paylink_commands_in_flight 0`,
		`go_goroutines`,
		`process_resident_memory_bytes`,
	}
	var text string
	missing := wants
	for deadline := time.Now().Add(30 * time.Second); len(missing) > 0 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		resp, err := http.Get(h.url + bot.PathMetrics)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		text = string(b)
		missing = nil
		for _, want := range wants {
			if !strings.Contains(text, want) {
				missing = append(missing, want)
			}
		}
	}
	for _, want := range missing {
		t.Errorf("/metrics lacks %s", want)
	}
	if t.Failed() {
		for _, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(line, "paylink_") {
				t.Log(line)
			}
		}
	}
}
