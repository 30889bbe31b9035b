package slackout

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/slack-go/slack"
)

// PostResponse posts msg to a response_url. The URL lets anyone holding it post for
// its command, so an error names only its host.
func PostResponse(ctx context.Context, hc *http.Client, responseURL string, msg *slack.WebhookMessage) error {
	err := slack.PostWebhookCustomHTTPContext(ctx, responseURL, hc, msg)
	if err == nil {
		return nil
	}
	return &responseURLError{host: urlHost(responseURL), err: err}
}

// responseURLError is a failed response_url post; its text has the host, not the URL.
type responseURLError struct {
	host string
	err  error
}

func (e *responseURLError) Error() string {
	var ue *url.Error
	if errors.As(e.err, &ue) {
		return fmt.Sprintf("response_url on %s: %s: %v", e.host, ue.Op, ue.Err)
	}
	return fmt.Sprintf("response_url on %s: %s", e.host, e.err)
}

func (e *responseURLError) Unwrap() error { return e.err }

// urlHost returns the host of a URL, even one that does not parse.
func urlHost(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Host
	}
	_, rest, _ := strings.Cut(raw, "://")
	host, _, _ := strings.Cut(rest, "/")
	if _, h, ok := strings.Cut(host, "@"); ok {
		host = h
	}
	return strings.ToValidUTF8(strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, host), "")
}

// PostMessage posts m with chat.postMessage, waiting (on clock) out Slack's rate limit
// (429 with Retry-After) while ctx allows. It does not retry other failures: a post
// whose answer was lost may have landed, and a second one would duplicate it.
func PostMessage(ctx context.Context, chat *Chat, clock clockwork.Clock, m Message) (string, string, error) {
	var ch, ts string
	cut, err := RateLimit{MinWait: time.Second, Clock: clock}.Do(ctx, func() (err error) {
		ch, ts, err = chat.Post(ctx, m)
		return err
	})
	if cut {
		return "", "", err
	}
	return ch, ts, err
}

// RateLimit is how a Slack call waits out Slack's rate limit (429 with Retry-After):
// the one retry policy of every post and update. Nothing but a rate limit is retried:
// a call whose answer was lost may have landed, and a second one would duplicate it.
type RateLimit struct {
	MaxWait  time.Duration       // a longer Retry-After is not waited out; 0: any
	MinWait  time.Duration       // the least wait before calling again
	Attempts int                 // calls at most; 0: until ctx ends
	OnWait   func(time.Duration) // told each Retry-After waited out; may be nil
	Clock    clockwork.Clock     // times the waits; nil: the real clock
}

// Do calls call until it is not rate limited, or the policy or ctx says stop. It
// reports whether ctx ended while it waited, and returns call's last error.
func (p RateLimit) Do(ctx context.Context, call func() error) (cut bool, err error) {
	clock := p.Clock
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	for attempt := 1; ; attempt++ {
		err = call()
		var rl *slack.RateLimitedError
		if !errors.As(err, &rl) || p.MaxWait > 0 && rl.RetryAfter > p.MaxWait || p.Attempts > 0 && attempt >= p.Attempts {
			return false, err
		}
		if p.OnWait != nil {
			p.OnWait(rl.RetryAfter)
		}
		t := clock.NewTimer(max(rl.RetryAfter, p.MinWait))
		select {
		case <-ctx.Done():
			t.Stop()
			return true, err
		case <-t.Chan():
		}
	}
}

// ErrorCode returns Slack's error code ("not_in_channel") for err, or a short
// description of a transport failure.
func ErrorCode(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		return fmt.Sprintf("http_%d", sc.Code)
	}
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return "ratelimited"
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	return "request_failed"
}

// ChannelUnreachable reports whether Slack's error code means the bot can't post in the
// channel (private channel or DM without the bot, archived channel).
func ChannelUnreachable(code string) bool {
	switch code {
	case "not_in_channel", "channel_not_found", "is_archived", "restricted_action", "restricted_action_read_only_channel":
		return true
	}
	return false
}
