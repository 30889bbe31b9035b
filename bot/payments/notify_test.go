package payments

import (
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"github.com/paylink/paylink/dojo"
)

// TestRetryScheduleSpansAnHour: with the defaults, a notice is tried MaxAttempts times
// over at least an hour before it is dead-lettered.
func TestRetryScheduleSpansAnHour(t *testing.T) {
	n := NewNotifier(Deps{Log: zerolog.Nop()})
	var total time.Duration
	for attempt := 1; attempt < n.cfg.MaxAttempts; attempt++ {
		d := n.backoff(attempt)
		if d > n.cfg.RetryMax {
			t.Errorf("backoff(%d) = %v, above the maximum", attempt, d)
		}
		total += d
	}
	if total < time.Hour {
		t.Errorf("%d attempts span %v, want at least an hour", n.cfg.MaxAttempts, total)
	}
	t.Logf("%d attempts over %v", n.cfg.MaxAttempts, total)
}

func TestClassifySlackFailures(t *testing.T) {
	n := NewNotifier(Deps{Log: zerolog.Nop()})
	tests := []struct {
		name  string
		err   error
		kind  outcomeKind
		count bool
		after time.Duration
	}{
		{"rate limited", &slack.RateLimitedError{RetryAfter: 90 * time.Second}, retry, false, 90 * time.Second},
		{"token revoked: held, not counted", slack.SlackErrorResponse{Err: "token_revoked"}, retry, false, 0},
		{"invalid auth: held, not counted", slack.SlackErrorResponse{Err: "invalid_auth"}, retry, false, 0},
		{"server error: counted", slack.StatusCodeError{Code: 503}, retry, true, 0},
		{"unknown error: counted", slack.SlackErrorResponse{Err: "fatal_error"}, retry, true, 0},
		{"message refused for good", slack.SlackErrorResponse{Err: "msg_too_long"}, dead, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := n.classify(zerolog.Nop(), tt.err)
			if o.kind != tt.kind || o.count != tt.count || o.after != tt.after {
				t.Errorf("classify = %+v", o)
			}
		})
	}
}

func TestConfirms(t *testing.T) {
	tests := []struct {
		current, announced dojo.Status
		want               bool
	}{
		{dojo.StatusCaptured, dojo.StatusCaptured, true},
		{dojo.StatusRefunded, dojo.StatusCaptured, true},
		{dojo.StatusCreated, dojo.StatusCaptured, false},
		{dojo.StatusCanceled, dojo.StatusCaptured, false},
		{dojo.StatusCanceled, dojo.StatusCanceled, true},
		{dojo.StatusCaptured, dojo.StatusRefunded, false},
	}
	for _, tt := range tests {
		if got := confirms(tt.current, tt.announced); got != tt.want {
			t.Errorf("confirms(%s, %s) = %v", tt.current, tt.announced, got)
		}
	}
}
