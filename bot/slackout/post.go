package slackout

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

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

// PostMessage calls chat.postMessage, waiting out Slack's rate limit (429 with
// Retry-After) while ctx allows. It does not retry other failures: a post whose answer
// was lost may have landed, and a second one would duplicate it.
func PostMessage(ctx context.Context, api *slack.Client, channel string, opts ...slack.MsgOption) (string, string, error) {
	for {
		ch, ts, err := api.PostMessageContext(ctx, channel, opts...)
		var rl *slack.RateLimitedError
		if !errors.As(err, &rl) {
			return ch, ts, err
		}
		wait := max(rl.RetryAfter, time.Second)
		select {
		case <-ctx.Done():
			return "", "", err
		case <-time.After(wait):
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
