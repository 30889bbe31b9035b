package bot_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"github.com/paylink/paylink/bot"
	"github.com/paylink/paylink/bot/fakeslack"
	"github.com/paylink/paylink/bot/policy"
	"github.com/paylink/paylink/bot/slackin"
	"github.com/paylink/paylink/bot/slackout"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/dojo/dojotest"
	"github.com/paylink/paylink/store"
	"github.com/paylink/paylink/store/redistest"
)

// TestRedisRoundTrips: a command costs at most two Redis round trips before it is
// answered, and a webhook at most two before it is acknowledged.
func TestRedisRoundTrips(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	rt := &redistest.RoundTrips{}
	rdb.AddHook(rt)
	st := store.New(rdb, store.Options{})
	d := dojotest.NewServer(t, dojotest.WithAPIKey("sk_sandbox_rt"))
	fs := fakeslack.New(t)
	fs.SetLatency(300 * time.Millisecond) // the link is posted, and its ts recorded, well after the answer
	tasks := bot.NewTasks(zerolog.Nop())
	defer tasks.Drain(context.Background())
	limits, _ := policy.ParseMaxAmounts("")
	srv := httptest.NewServer(bot.NewServer(bot.Deps{
		Log: zerolog.Nop(),
		Config: bot.Config{CheckoutURL: "https://pay.dojo.tech/checkout/", PaymentSource: "payment-links",
			MaxAmounts: limits, AckBudget: 1500 * time.Millisecond, WorkTimeout: 30 * time.Second,
			RetypeWindow: 10 * time.Minute, WebhookSecrets: []string{"ws_rt"},
			Policy: policy.Policy{RateLimit: 30, RateWindow: time.Hour}},
		Verifier:   slackin.NewVerifier("secret", time.Now),
		Links:      dojo.NewClient(dojo.Config{BaseURL: d.URL, APIKey: "sk_sandbox_rt"}),
		Store:      st,
		Slack:      slack.New("xoxb-test", slack.OptionAPIURL(fs.APIURL())),
		Chat:       slackout.NewChat(http.DefaultClient, fs.APIURL(), "xoxb-test"),
		HTTPClient: http.DefaultClient,
		Tasks:      tasks,
	}))
	defer srv.Close()

	command := func(ref string) []string {
		form := url.Values{"team_id": {"T1"}, "channel_id": {"C1"}, "user_id": {"U1"}, "command": {"/paylink"},
			"text": {"10.00 GBP " + ref}, "response_url": {fs.ResponseURL(ref)}}.Encode()
		ts, sig := bot.SignSlackRequest("secret", time.Now(), []byte(form))
		req, _ := http.NewRequest(http.MethodPost, srv.URL+bot.PathCommands, strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Slack-Request-Timestamp", ts)
		req.Header.Set("X-Slack-Signature", sig)
		rt.Take()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		names := rt.Take()
		// The link's message ts is its last write; read it past the client being counted.
		waitFor(t, func() bool {
			for _, pi := range d.Created() {
				if ts := mr.HGet(store.DefaultPrefix+"link:{"+pi.ID+"}", "msg_ts"); ts == "" {
					return false
				}
			}
			return len(d.Created()) > 0
		})
		return names
	}
	webhook := func(id string) []string {
		d.SetStatus(id, dojo.StatusCaptured)
		// Nothing a command started may still be talking to Redis.
		waitFor(t, func() bool { return tasks.Running() == 0 })
		rt.Take()
		code, err := dojotest.SendWebhook(context.Background(), srv.URL+bot.PathDojoWebhooks, "ws_rt", dojotest.Event(id, dojo.StatusCaptured))
		if err != nil || code != 200 {
			t.Fatalf("webhook: %d %v", code, err)
		}
		return rt.Take()
	}
	// The first of each loads the Lua scripts into Redis; count the second.
	command("ref-warm")
	webhook(d.Created()[0].ID)
	names := command("ref-rt")
	t.Logf("command: %d round trips before the answer: %v", len(names), names)
	if len(names) > 2 {
		t.Errorf("a command made %d Redis round trips before it was answered, want at most 2: %v", len(names), names)
	}
	names = webhook(d.Created()[1].ID)
	t.Logf("webhook: %d round trips before the answer: %v", len(names), names)
	if len(names) > 2 {
		t.Errorf("a webhook made %d Redis round trips before it was answered, want at most 2: %v", len(names), names)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
