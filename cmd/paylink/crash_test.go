package main

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/paylink/paylink/bot"
	"github.com/paylink/paylink/bot/fakeslack"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/dojo/dojotest"
)

// buildPaylink builds the paylink binary for tests that run it as a real process.
func buildPaylink(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "paylink")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// process is paylink running as a child process.
type process struct {
	cmd *exec.Cmd
	out *syncBuffer
}

func startProcess(t *testing.T, bin, url string, e env) *process {
	t.Helper()
	p := &process{cmd: exec.Command(bin), out: &syncBuffer{}}
	for k, v := range e {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		p.cmd.Wait()
		if t.Failed() {
			t.Logf("paylink process %d log:\n%s", p.cmd.Process.Pid, p.out.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(url + bot.PathHealthz)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("paylink process did not become healthy\n%s", p.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestKilledProcessLosesNoPaidMessage: the webhook is accepted while Slack fails every
// call (or while the notice is on its way to Slack); the process is killed with
// SIGKILL; Slack recovers; a new process starts; the agent gets exactly one "Paid"
// message.
func TestKilledProcessLosesNoPaidMessage(t *testing.T) {
	t.Parallel()
	bin := ""
	if os.Getenv("REDIS_URL") != "" {
		bin = buildPaylink(t)
	}
	for _, tt := range []struct {
		name   string
		break_ func(*harness)
		until  func(*harness) bool
		heal   func(*harness)
		log    string // the new process says this
	}{
		{"while Slack fails every call",
			func(h *harness) {
				h.slack.Fail("chat.postMessage", fakeslack.Failure{Status: http.StatusInternalServerError})
			},
			func(h *harness) bool { return failedPaid(h) >= 2 },
			func(h *harness) { h.slack.ClearFailures() }, ""},
		{"while the notice is on its way to Slack",
			func(h *harness) { h.slack.SetLatency(time.Minute) },
			func(h *harness) bool { return h.slack.Delayed("chat.postMessage") > 0 },
			func(h *harness) { h.slack.SetLatency(0) }, "took over a notification from a silent consumer"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := killScenario(t, bin, tt.break_, tt.until, tt.heal)
			if !strings.Contains(out, tt.log) {
				t.Errorf("the new process did not log %q", tt.log)
			}
		})
	}
}

func failedPaid(h *harness) int {
	n := 0
	for _, c := range h.slack.Calls("chat.postMessage") {
		if c.Failed != "" && strings.Contains(c.Text, "Paid") {
			n++
		}
	}
	return n
}

// killScenario runs one crash and returns the log of the process started after it.
func killScenario(t *testing.T, bin string, breakIt func(*harness), until func(*harness) bool, heal func(*harness)) string {
	target := realRedis(t, "paylinkcrash")
	url := target.url
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
		"PATH":                      os.Getenv("PATH"),
		"PORT":                      port,
		"SLACK_SIGNING_SECRET":      testSigningSecret,
		"SLACK_BOT_TOKEN":           testBotToken,
		"SLACK_API_URL":             h.slack.APIURL(),
		"DOJO_API_KEY":              testDojoKey,
		"DOJO_API_URL":              h.dojo.URL,
		"DOJO_WEBHOOK_SECRET":       testWebhookSecret,
		"REDIS_URL":                 url,
		"PAYLINK_REDIS_PREFIX":      target.prefix,
		"PAYLINK_NOTIFY_CLAIM_IDLE": "1s",
		"PAYLINK_NOTIFY_RETRY_BASE": "200ms",
		"LOG_LEVEL":                 "debug",
	}
	first := startProcess(t, bin, h.url, e)
	id, _ := h.makeLink("10.00 GBP crash-1")

	breakIt(h)
	h.dojo.SetStatus(id, dojo.StatusCaptured)
	if code := h.sendWebhook(dojotest.Event(id, dojo.StatusCaptured)); code != http.StatusOK {
		t.Fatalf("webhook: %d", code)
	}
	waitFor(t, "the notice to be under way", func() bool { return until(h) })
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.cmd.Wait()
	heal(h)
	if n := len(notices(h.slack, "Paid")); n != 0 {
		t.Fatalf("%d Paid messages before the restart", n)
	}

	second := startProcess(t, bin, h.url, e)
	waitNotices(t, h.slack, "Paid", 1, 15*time.Second)
	time.Sleep(2 * time.Second)
	if n := len(notices(h.slack, "Paid")); n != 1 {
		t.Errorf("%d Paid messages after the restart, want exactly 1", n)
	}
	second.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- second.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("paylink exited with %v after SIGTERM, want 0", err)
		}
	case <-time.After(25 * time.Second):
		t.Errorf("paylink did not exit within 25s of SIGTERM")
	}
	return second.out.String()
}
