package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/paylink/paylink/bot"
	"github.com/paylink/paylink/bot/fakeslack"
	"github.com/paylink/paylink/dojo/dojotest"
	"github.com/paylink/paylink/store"
	"github.com/paylink/paylink/store/redistest"
)

const (
	testSigningSecret = "e2e-signing-secret"
	testBotToken      = "xoxb-test"
	testDojoKey       = "sk_sandbox_e2e_key_0123456789"
	testWebhookSecret = "ws_e2e_webhook_secret"
)

// redisTarget is a Redis for one test: the real one named by REDIS_URL (a single
// server, Sentinel or Cluster), or miniredis.
type redisTarget struct {
	name   string
	url    string
	prefix string
	rdb    redis.UniversalClient
	topo   store.Topology
}

// redisTargets returns miniredis and, when REDIS_URL is set, the real Redis, each with
// a prefix of its own so tests sharing a real Redis don't see each other's keys; the
// real Redis's keys under the prefix are removed when the test ends.
func redisTargets(t *testing.T) []redisTarget {
	t.Helper()
	mr := miniredis.RunT(t)
	mem := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { mem.Close() })
	targets := []redisTarget{{name: "miniredis", url: "redis://" + mr.Addr(), prefix: testPrefix("paylinktest"), rdb: mem, topo: store.Single}}
	if os.Getenv("REDIS_URL") != "" {
		targets = append(targets, realRedis(t, "paylinktest"))
	} else {
		// A subtest that says it skipped, where the real-Redis variant would run.
		t.Run("redis", func(t *testing.T) { t.Skip("REDIS_URL is not set: the real-Redis variant does not run (CI sets it)") })
	}
	return targets
}

// realRedis is the Redis REDIS_URL names, with a fresh prefix starting with base; the
// keys under it are removed when the test ends. It skips the test when REDIS_URL is
// not set.
func realRedis(t *testing.T, base string) redisTarget {
	t.Helper()
	u := os.Getenv("REDIS_URL")
	if u == "" {
		t.Skip("REDIS_URL is not set: this test needs a real Redis (CI sets it)")
	}
	rc, err := store.ParseRedisURL(u)
	if err != nil {
		t.Fatalf("REDIS_URL: %v", err)
	}
	rdb := rc.NewClient()
	r := redisTarget{name: "redis", url: u, prefix: testPrefix(base), rdb: rdb, topo: rc.Topology}
	t.Cleanup(func() {
		dropPrefix(rdb, r.prefix)
		rdb.Close()
	})
	return r
}

// testPrefix is a key prefix no other test uses.
func testPrefix(base string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return base + ":" + hex.EncodeToString(b) + ":"
}

// singleAddr is the address of the real Redis when it is a single server; tests that
// cut Redis off with a proxy in front of it skip otherwise (Sentinel and Cluster
// clients learn the real nodes' addresses and go around a proxy).
func (r redisTarget) singleAddr(t *testing.T) string {
	t.Helper()
	if r.topo != store.Single {
		t.Skipf("REDIS_URL is a %s: this test cuts a single Redis server off with a TCP proxy", r.topo)
	}
	rc, err := store.ParseRedisURL(r.url)
	if err != nil {
		t.Fatal(err)
	}
	return rc.Addrs[0]
}

// miniTarget is a redisTarget on a miniredis the test controls.
func miniTarget(t *testing.T, mr *miniredis.Miniredis) redisTarget {
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	return redisTarget{name: "miniredis", url: "redis://" + mr.Addr(), prefix: "p:", rdb: rdb, topo: store.Single}
}

// dropPrefix deletes a test's keys from a shared Redis (every master of a Cluster).
func dropPrefix(rdb redis.UniversalClient, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	redistest.DropPrefix(ctx, rdb, prefix)
}

// keys lists the keys under the target's prefix matching pattern (after the prefix).
func (r redisTarget) keys(t *testing.T, pattern string) []string {
	t.Helper()
	out, err := redistest.Keys(context.Background(), r.rdb, r.prefix+pattern)
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	return out
}

// env is a test's configuration for run.
type env map[string]string

func (e env) lookup(name string) (string, bool) {
	v, ok := e[name]
	return v, ok
}

// harness is one paylink process (run in this test binary) with its fakes.
type harness struct {
	t     *testing.T
	url   string
	dojo  *dojotest.Server
	slack *fakeslack.Server
	redis redisTarget
	out   *syncBuffer
	stop  func() error // cancels run's context and returns its error
}

// syncBuffer collects log output from run.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freePort returns a TCP port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// startPaylink runs paylink against fresh fakes and the given Redis, with extra
// settings on top of the defaults, and waits until /healthz answers.
func startPaylink(t *testing.T, r redisTarget, extra env) *harness {
	t.Helper()
	return startPaylinkWith(t, r, extra,
		dojotest.NewServer(t, dojotest.WithAPIKey(testDojoKey)),
		fakeslack.New(t, fakeslack.WithToken(testBotToken)))
}

// startPaylinkWith runs paylink against the given fakes, so several replicas can share
// them.
func startPaylinkWith(t *testing.T, r redisTarget, extra env, d *dojotest.Server, s *fakeslack.Server) *harness {
	t.Helper()
	return startPaylinkCtx(context.Background(), t, r, extra, d, s)
}

// startPaylinkCtx is startPaylinkWith, running paylink with a context derived from
// base (which may carry a clock for the digest).
func startPaylinkCtx(base context.Context, t *testing.T, r redisTarget, extra env, d *dojotest.Server, s *fakeslack.Server) *harness {
	t.Helper()
	h := &harness{
		t:     t,
		dojo:  d,
		slack: s,
		redis: r,
		out:   &syncBuffer{},
	}
	port := freePort(t)
	e := env{
		"PORT":                 port,
		"SLACK_SIGNING_SECRET": testSigningSecret,
		"SLACK_BOT_TOKEN":      testBotToken,
		"SLACK_API_URL":        h.slack.APIURL(),
		"DOJO_API_KEY":         testDojoKey,
		"DOJO_API_URL":         h.dojo.URL,
		"DOJO_WEBHOOK_SECRET":  testWebhookSecret,
		"PAYLINK_REDIS_PREFIX": r.prefix,
		"LOG_LEVEL":            "debug",
	}
	if r.url != "" {
		e["REDIS_URL"] = r.url
	}
	for k, v := range extra {
		e[k] = v
	}
	ctx, cancel := context.WithCancel(base)
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"paylink"}, e.lookup, h.out, h.out) }()
	var once sync.Once
	var runErr error
	h.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(30 * time.Second):
				t.Errorf("run did not return within 30s of cancellation")
			}
		})
		return runErr
	}
	t.Cleanup(func() {
		if err := h.stop(); err != nil {
			t.Errorf("run returned %v", err)
		}
		if t.Failed() {
			t.Logf("paylink log:\n%s", h.out.String())
		}
	})
	h.url = "http://127.0.0.1:" + port
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-done:
			t.Fatalf("run returned early: %v\n%s", err, h.out.String())
		default:
		}
		resp, err := http.Get(h.url + bot.PathHealthz)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("paylink did not become healthy: %v\n%s", err, h.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return h
}

// on returns h reporting to t, a subtest's own: a helper that stops a test must run on
// that test's goroutine.
func (h *harness) on(t *testing.T) *harness {
	c := *h
	c.t = t
	return &c
}

// commandForm is a slash command as Slack sends it.
func (h *harness) commandForm(text, responseName string) url.Values {
	return url.Values{
		"token":                 {"deprecated-verification-token"},
		"team_id":               {"T0001"},
		"team_domain":           {"example"},
		"channel_id":            {"C2147483705"},
		"channel_name":          {"support"},
		"user_id":               {"U2147483697"},
		"user_name":             {"steve"},
		"command":               {"/paylink"},
		"text":                  {text},
		"api_app_id":            {"A123456"},
		"is_enterprise_install": {"false"},
		"response_url":          {h.slack.ResponseURL(responseName)},
		"trigger_id":            {"13345224609.738474920.8088930838d88f008e0"},
	}
}

// sendCommand signs form as Slack does and POSTs it to /slack/commands. It stops the
// test when the request fails, so only the test's own goroutine may call it; others
// call commandRequest.
func (h *harness) sendCommand(form url.Values) (*http.Response, string, time.Duration) {
	h.t.Helper()
	return h.do(h.commandRequest(form))
}

// commandRequest is form as Slack sends it to /slack/commands, signed.
func (h *harness) commandRequest(form url.Values) *http.Request {
	body := form.Encode()
	ts, sig := bot.SignSlackRequest(testSigningSecret, time.Now(), []byte(body))
	req, _ := http.NewRequest(http.MethodPost, h.url+bot.PathCommands, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", sig)
	return req
}

// do sends req and reads the answer. It stops the test when the request fails, so only
// the test's own goroutine may call it; others call send.
func (h *harness) do(req *http.Request) (*http.Response, string, time.Duration) {
	h.t.Helper()
	resp, body, took, err := send(req)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp, body, took
}

// harnessClient gives up on a request after a minute: paylink answers long before.
var harnessClient = &http.Client{Timeout: time.Minute}

// send sends req and reads the answer, and how long that took.
func send(req *http.Request) (*http.Response, string, time.Duration, error) {
	start := time.Now()
	resp, err := harnessClient.Do(req)
	if err != nil {
		return nil, "", 0, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b), time.Since(start), nil
}

// dojoCalls counts the API requests the fake Dojo received.
func (h *harness) dojoCalls() int {
	return len(h.dojo.Requests())
}

// answer is what the agent was told about a command: the HTTP reply when the outcome
// came within the acknowledgement budget, else the first message to its response_url.
func (h *harness) answer(body, responseName string) string {
	h.t.Helper()
	if strings.TrimSpace(body) != "" {
		return body
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(h.slack.Responses(responseName)) == 0 {
		if time.Now().After(deadline) {
			h.t.Fatalf("no answer on %s", responseName)
		}
		time.Sleep(10 * time.Millisecond)
	}
	b, _ := json.Marshal(h.slack.Responses(responseName)[0])
	return string(b)
}

// settle waits until no command's work is under way in the process (its
// paylink_commands_in_flight gauge reads 0), so a test can then check what that work
// did, or did not do.
func (h *harness) settle(t *testing.T) {
	t.Helper()
	waitFor(t, "no command's work to be under way", func() bool {
		resp, err := http.Get(h.url + bot.PathMetrics)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(b), "\npaylink_commands_in_flight 0\n")
	})
}
