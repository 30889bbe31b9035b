package slackout_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/paylink/paylink/bot/fakeslack"
	"github.com/paylink/paylink/bot/slackout"
	"github.com/paylink/paylink/store"
)

func cardLink() *store.Link {
	return &store.Link{
		IntentID: "pi_sandbox_chat", TeamID: "T1", ChannelID: "C1", UserID: "U1",
		Amount: 1000, Currency: "GBP", Reference: "ref-123 <!channel> & co", Description: "Blue & white mug",
		Status: "Created", CreatedAt: time.Unix(1_700_000_000, 0), ExpiresAt: time.Unix(1_702_592_000, 0),
	}
}

// TestChatBlocksAsSlackGoWritesThem: the blocks Chat sends, its actions and context
// blocks written as plain data, are the JSON slack-go writes for them, for the card in
// every state (paid and partly refunded, with a description, in test mode), the
// reminder and the digest.
func TestChatBlocksAsSlackGoWritesThem(t *testing.T) {
	fs := fakeslack.New(t)
	chat := slackout.NewChat(http.DefaultClient, fs.APIURL(), "xoxb-test")
	type message struct {
		name   string
		blocks []slack.Block
	}
	var messages []message
	for _, status := range []string{"Created", "Authorized", "Captured", "Canceled", store.StatusExpired, "Refunded", "Reversed"} {
		l := cardLink()
		l.Status, l.TestMode = status, status == "Authorized"
		if status == "Captured" {
			l.Refunds = store.Refunds{Refunded: 400, Entries: []store.Refund{{Key: "k1", Kind: store.KindRefund, Amount: 400, User: "U2",
				At: time.Unix(1_700_003_600, 0), Done: true, DojoID: "rf_1", Reason: "damaged"}}}
		}
		_, blocks := slackout.Card(l, "https://pay.dojo.tech/checkout/")
		messages = append(messages, message{"card " + status, blocks})
	}
	_, reminder := slackout.Reminder(cardLink(), 26*time.Hour, "https://pay.dojo.tech/checkout/")
	messages = append(messages, message{"reminder", reminder})
	_, digest := slackout.Digest(slackout.DigestReport{Day: "2026-11-30", Oldest: []*store.Link{cardLink()}, Now: time.Unix(1_700_090_000, 0)})
	messages = append(messages, message{"digest", digest})
	for i, m := range messages {
		if _, _, err := chat.Post(context.Background(), slackout.Message{Channel: "C1", Text: m.name, Blocks: m.blocks}); err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(m.blocks)
		if err != nil {
			t.Fatal(err)
		}
		var got, wanted any
		if err := json.Unmarshal(fs.Calls("chat.postMessage")[i].Blocks, &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(want, &wanted); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, wanted) {
			t.Errorf("%s: sent %s\nslack-go writes %s", m.name, fs.Calls("chat.postMessage")[i].Blocks, want)
		}
	}
}

// TestChat: a post and an update reach Slack with their text, blocks, thread and
// preview settings, and Slack's refusals come back as slack-go's errors.
func TestChat(t *testing.T) {
	fs := fakeslack.New(t)
	chat := slackout.NewChat(http.DefaultClient, fs.APIURL(), "xoxb-test")
	ctx := context.Background()
	text, blocks := slackout.Card(cardLink(), "https://pay.dojo.tech/checkout/")

	ch, ts, err := chat.Post(ctx, slackout.Message{Channel: "C1", Text: text, Blocks: blocks})
	if err != nil || ch != "C1" || ts == "" {
		t.Fatalf("Post = %q, %q, %v", ch, ts, err)
	}
	post := fs.Calls("chat.postMessage")[0]
	if post.Text != text || !strings.Contains(string(post.Blocks), `"action_id":"cancel_link"`) ||
		!strings.Contains(string(post.Blocks), "ref-123 &lt;!channel&gt; &amp; co") {
		t.Errorf("posted %q with blocks %s", post.Text, post.Blocks)
	}
	if post.UnfurlLinks == nil || *post.UnfurlLinks || post.UnfurlMedia == nil || *post.UnfurlMedia {
		t.Errorf("previews not turned off: links %v, media %v", post.UnfurlLinks, post.UnfurlMedia)
	}

	if _, _, err := chat.Post(ctx, slackout.Message{Channel: "C1", ThreadTS: ts, Broadcast: true, Text: "Paid"}); err != nil {
		t.Fatal(err)
	}
	if reply := fs.Calls("chat.postMessage")[1]; reply.ThreadTS != ts || !reply.Broadcast {
		t.Errorf("thread reply: thread %q, broadcast %v", reply.ThreadTS, reply.Broadcast)
	}

	paid := cardLink()
	paid.Status = "Captured"
	text, blocks = slackout.Card(paid, "https://pay.dojo.tech/checkout/")
	if err := chat.Update(ctx, slackout.Message{Channel: "C1", TS: ts, Text: text, Blocks: blocks}); err != nil {
		t.Fatal(err)
	}
	if m := fs.Messages("C1")[0]; m.Text != text || m.Updates != 1 {
		t.Errorf("updated message: %q, %d updates", m.Text, m.Updates)
	}

	if err := chat.Update(ctx, slackout.Message{Channel: "C1", TS: "1.000009", Text: "x"}); slackout.ErrorCode(err) != "message_not_found" {
		t.Errorf("update of no message: %v", err)
	}
	fs.Fail("chat.postMessage", fakeslack.Failure{Status: http.StatusTooManyRequests, RetryAfter: 7, Times: 1})
	_, _, err = chat.Post(ctx, slackout.Message{Channel: "C1", Text: "x"})
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 7*time.Second {
		t.Errorf("rate limited post: %v", err)
	}
	fs.Fail("chat.postMessage", fakeslack.Failure{Status: http.StatusServiceUnavailable, Times: 1})
	if _, _, err := chat.Post(ctx, slackout.Message{Channel: "C1", Text: "x"}); slackout.ErrorCode(err) != "http_503" {
		t.Errorf("post during an outage: %v", err)
	}
	if _, _, err := slackout.NewChat(http.DefaultClient, fs.APIURL(), "xoxb-wrong").Post(ctx, slackout.Message{Channel: "C1", Text: "x"}); slackout.ErrorCode(err) != "invalid_auth" {
		t.Errorf("post with a wrong token: %v", err)
	}
}

// BenchmarkPostCard posts the link card through Chat and through slack-go, to a Web
// API answered in process (no network): what each client spends encoding the card and
// reading Slack's answer.
func BenchmarkPostCard(b *testing.B) {
	hc := &http.Client{Transport: slackAnswer{}}
	text, blocks := slackout.Card(cardLink(), "https://pay.dojo.tech/checkout/")
	ctx := context.Background()
	b.Run("chat", func(b *testing.B) {
		chat := slackout.NewChat(hc, "https://slack.test/api/", "xoxb-test")
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := chat.Post(ctx, slackout.Message{Channel: "C1", Text: text, Blocks: blocks}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("slack-go", func(b *testing.B) {
		client := slack.New("xoxb-test", slack.OptionAPIURL("https://slack.test/api/"), slack.OptionHTTPClient(hc))
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := client.PostMessageContext(ctx, "C1", slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...),
				slack.MsgOptionDisableLinkUnfurl(), slack.MsgOptionDisableMediaUnfurl()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// slackAnswer reads a request's body and answers as chat.postMessage does.
type slackAnswer struct{}

func (slackAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	io.Copy(io.Discard, r.Body)
	r.Body.Close()
	return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Request: r,
		Header: http.Header{"Content-Type": {"application/json; charset=utf-8"}},
		Body: io.NopCloser(strings.NewReader(`{"ok":true,"channel":"C1","ts":"1700000000.000001",` +
			`"message":{"type":"message","text":"x","user":"U0BOT","bot_id":"B0BOT","ts":"1700000000.000001"}}`)),
	}, nil
}
