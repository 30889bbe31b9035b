package slackout

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

func TestRateLimitDo(t *testing.T) {
	limited := &slack.RateLimitedError{RetryAfter: time.Millisecond}
	calls := 0
	failTimes := func(n int, last error) func() error {
		calls = 0
		return func() error {
			calls++
			if calls <= n {
				return limited
			}
			return last
		}
	}
	ctx := context.Background()
	if cut, err := (RateLimit{}).Do(ctx, failTimes(2, nil)); cut || err != nil || calls != 3 {
		t.Errorf("waited out twice: cut %v, err %v, %d calls, want 3", cut, err, calls)
	}
	if _, err := (RateLimit{MaxWait: time.Microsecond}).Do(ctx, failTimes(5, nil)); !errors.As(err, new(*slack.RateLimitedError)) || calls != 1 {
		t.Errorf("a wait over MaxWait: err %v after %d calls, want the rate limit after 1", err, calls)
	}
	if _, err := (RateLimit{Attempts: 3}).Do(ctx, failTimes(5, nil)); err == nil || calls != 3 {
		t.Errorf("Attempts 3: err %v after %d calls", err, calls)
	}
	other := errors.New("channel_not_found")
	if _, err := (RateLimit{}).Do(ctx, failTimes(0, other)); err != other || calls != 1 {
		t.Errorf("another failure is not retried: err %v after %d calls", err, calls)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if cut, err := (RateLimit{MinWait: time.Hour}).Do(done, failTimes(5, nil)); !cut || err == nil || calls != 1 {
		t.Errorf("ctx ended: cut %v, err %v, %d calls", cut, err, calls)
	}
}
