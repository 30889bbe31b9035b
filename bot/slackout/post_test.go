package slackout

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/slack-go/slack"
)

// TestRateLimitDo: a rate-limited call is made again once the clock has moved past
// the wait (Retry-After, at least MinWait), no sooner, until it is not rate limited or
// the policy says stop.
func TestRateLimitDo(t *testing.T) {
	other := errors.New("channel_not_found")
	tests := []struct {
		name       string
		policy     RateLimit
		retryAfter time.Duration
		limited    int   // calls rate limited before the last one
		last       error // the last call's answer
		waits      []time.Duration
		calls      int32
		wantErr    error // nil, other, or errLimited
	}{
		{"waited out twice", RateLimit{}, 2 * time.Second, 2, nil, []time.Duration{2 * time.Second, 2 * time.Second}, 3, nil},
		{"MinWait above Retry-After", RateLimit{MinWait: 5 * time.Second}, time.Second, 1, nil, []time.Duration{5 * time.Second}, 2, nil},
		{"Retry-After above MaxWait", RateLimit{MaxWait: time.Second}, 2 * time.Second, 5, nil, nil, 1, errLimited},
		{"Attempts 3", RateLimit{Attempts: 3}, time.Second, 5, nil, []time.Duration{time.Second, time.Second}, 3, errLimited},
		{"another failure is not retried", RateLimit{}, time.Second, 0, other, nil, 1, other},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := clockwork.NewFakeClock()
			var calls atomic.Int32
			var told []time.Duration
			p := tt.policy
			p.Clock = clock
			p.OnWait = func(d time.Duration) { told = append(told, d) }
			type result struct {
				cut bool
				err error
			}
			done := make(chan result, 1)
			go func() {
				cut, err := p.Do(context.Background(), func() error {
					if int(calls.Add(1)) <= tt.limited {
						return &slack.RateLimitedError{RetryAfter: tt.retryAfter}
					}
					return tt.last
				})
				done <- result{cut, err}
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for i, wait := range tt.waits {
				if err := clock.BlockUntilContext(ctx, 1); err != nil {
					t.Fatalf("not waiting after call %d: %v", i+1, err)
				}
				clock.Advance(wait - time.Nanosecond)
				if n := calls.Load(); n != int32(i+1) {
					t.Fatalf("%d calls before wait %d was over, want %d", n, i+1, i+1)
				}
				clock.Advance(time.Nanosecond)
			}
			r := <-done
			if r.cut || calls.Load() != tt.calls {
				t.Errorf("cut %v after %d calls, want not cut after %d", r.cut, calls.Load(), tt.calls)
			}
			switch {
			case tt.wantErr == errLimited && !errors.As(r.err, new(*slack.RateLimitedError)),
				tt.wantErr != errLimited && r.err != tt.wantErr:
				t.Errorf("error %v, want %v", r.err, tt.wantErr)
			}
			if want := slices.Repeat([]time.Duration{tt.retryAfter}, len(tt.waits)); !slices.Equal(told, want) {
				t.Errorf("OnWait told %v, want %v", told, want)
			}
		})
	}
}

// errLimited stands for the rate limit error in TestRateLimitDo's table.
var errLimited = errors.New("rate limited")

// TestRateLimitDoCut: a wait ends as soon as ctx does, reporting the cut.
func TestRateLimitDoCut(t *testing.T) {
	clock := clockwork.NewFakeClock()
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	done := make(chan bool, 1)
	go func() {
		cut, err := RateLimit{MinWait: time.Hour, Clock: clock}.Do(ctx, func() error {
			calls++
			return &slack.RateLimitedError{RetryAfter: time.Second}
		})
		done <- cut && err != nil
	}()
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if err := clock.BlockUntilContext(wctx, 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if !<-done || calls != 1 {
		t.Errorf("ctx ended while waiting: want cut, with the rate limit, after 1 call (%d)", calls)
	}
}
