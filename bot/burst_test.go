package bot_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
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
)

// BenchmarkCommandBurst: bursts of 100 commands at once, with Dojo answering after
// 300 ms, on this machine. It reports how many commands of a burst were told Paylink
// is busy (busy/op), the slowest acknowledgement (slowest-ack-ms: Slack's limit is
// 3000) and how long until the burst's last link was posted (last-link-ms). With the
// limit that adapted to load (starting at 64 in flight) a burst measured 0 busy,
// slowest ack 1525 ms, last link 2138 ms: the commands over 64 waited for a slot. With
// the fixed bound of 2000 none waits.
func BenchmarkCommandBurst(b *testing.B) {
	const n = 100
	mr := miniredis.RunT(b)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	d := dojotest.NewServer(b, dojotest.WithAPIKey("sk_sandbox_burst"))
	d.SetLatency(300 * time.Millisecond)
	fs := fakeslack.New(b)
	tasks := bot.NewTasks(zerolog.Nop())
	defer tasks.Drain(context.Background())
	limits, _ := policy.ParseMaxAmounts("")
	srv := httptest.NewServer(bot.NewServer(bot.Deps{
		Log: zerolog.Nop(),
		Config: bot.Config{CheckoutURL: "https://pay.dojo.tech/checkout/", PaymentSource: "payment-links",
			MaxAmounts: limits, AckBudget: bot.DefaultAckBudget, WorkTimeout: bot.DefaultWorkTimeout,
			RetypeWindow: bot.DefaultRetypeWindow, WebhookSecrets: []string{"ws_burst"}},
		Verifier:   slackin.NewVerifier("secret", time.Now),
		Links:      dojo.NewClient(dojo.Config{BaseURL: d.URL, APIKey: "sk_sandbox_burst"}),
		Store:      store.New(rdb, store.Options{}),
		Slack:      slack.New("xoxb-test", slack.OptionAPIURL(fs.APIURL())),
		Chat:       slackout.NewChat(http.DefaultClient, fs.APIURL(), "xoxb-test"),
		HTTPClient: http.DefaultClient,
		Tasks:      tasks,
	}))
	defer srv.Close()

	command := func(ref string) (busy bool, took time.Duration, err error) {
		form := url.Values{"team_id": {"T1"}, "channel_id": {"C1"}, "user_id": {"U1"}, "command": {"/paylink"},
			"text": {"10.00 GBP " + ref}, "response_url": {fs.ResponseURL(ref)}}.Encode()
		ts, sig := bot.SignSlackRequest("secret", time.Now(), []byte(form))
		req, _ := http.NewRequest(http.MethodPost, srv.URL+bot.PathCommands, strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Slack-Request-Timestamp", ts)
		req.Header.Set("X-Slack-Signature", sig)
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, 0, err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false, 0, fmt.Errorf("status %d: %s", resp.StatusCode, body)
		}
		return strings.Contains(string(body), "very busy"), time.Since(start), nil
	}

	var busy int
	var slowest, lastLink time.Duration
	burst := 0
	for b.Loop() {
		burst++
		start := time.Now()
		var mu sync.Mutex
		var wg sync.WaitGroup
		var errs []error
		refused := 0
		for i := range n {
			wg.Go(func() {
				isBusy, took, err := command(fmt.Sprintf("burst-%d-%d", burst, i))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					errs = append(errs, err)
				case isBusy:
					refused++
				}
				slowest = max(slowest, took)
			})
		}
		wg.Wait()
		if len(errs) > 0 {
			b.Fatalf("%d commands failed: %v", len(errs), errs[0])
		}
		busy += refused
		want := burst*n - busy
		for len(d.Created()) < want || successes(fs.Calls("chat.postMessage")) < want {
			if time.Since(start) > time.Minute {
				b.Fatalf("burst %d: %d intents, %d links posted, want %d", burst, len(d.Created()), successes(fs.Calls("chat.postMessage")), want)
			}
			time.Sleep(5 * time.Millisecond)
		}
		lastLink = max(lastLink, time.Since(start))
	}
	b.ReportMetric(float64(busy)/float64(burst), "busy/op")
	b.ReportMetric(float64(slowest.Milliseconds()), "slowest-ack-ms")
	b.ReportMetric(float64(lastLink.Milliseconds()), "last-link-ms")
}

func successes(calls []fakeslack.Call) int {
	n := 0
	for _, c := range calls {
		if c.Failed == "" {
			n++
		}
	}
	return n
}
