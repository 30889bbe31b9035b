package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/paylink/paylink/bot/fakeslack"
	"github.com/paylink/paylink/dojo/dojotest"
)

// TestDigestPostsOnceAcrossReplicas runs two paylink replicas on one Redis whose
// digest schedulers follow a fake clock: at 09:00 the digest of the day before is
// posted once, naming the link made that day and still open.
func TestDigestPostsOnceAcrossReplicas(t *testing.T) {
	t.Parallel()
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range redisTargets(t) {
		t.Run(r.name, func(t *testing.T) {
			today := time.Now().In(loc)
			tomorrow := time.Date(today.Year(), today.Month(), today.Day()+1, 8, 0, 0, 0, loc)
			clock := clockwork.NewFakeClockAt(tomorrow)
			ctx := withDigestClock(context.Background(), clock)
			d := dojotest.NewServer(t, dojotest.WithAPIKey(testDojoKey))
			s := fakeslack.New(t, fakeslack.WithToken(testBotToken))
			extra := merge(fastNotify, env{"PAYLINK_DIGEST_CHANNEL": "C_DIGEST", "PAYLINK_DIGEST_AT": "09:00"})
			a := startPaylinkCtx(ctx, t, r, extra, d, s)
			startPaylinkCtx(ctx, t, r, extra, d, s)
			a.makeLink("12.34 GBP digest-ref")

			waiting := func() {
				t.Helper()
				wctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				if err := clock.BlockUntilContext(wctx, 2); err != nil {
					t.Fatalf("both replicas' digest schedulers did not wait: %v", err)
				}
			}
			waiting()
			clock.Advance(59 * time.Minute)
			waiting()
			if m := s.Messages("C_DIGEST"); len(m) != 0 {
				t.Fatalf("digest posted before 09:00: %+v", m)
			}
			clock.Advance(time.Minute)
			waitFor(t, "the digest", func() bool { return len(s.Messages("C_DIGEST")) > 0 })
			for range 3 {
				waiting()
				clock.Advance(time.Minute)
			}
			waiting()
			msgs := s.Messages("C_DIGEST")
			if len(msgs) != 1 {
				t.Fatalf("%d digests posted, want 1", len(msgs))
			}
			for _, want := range []string{today.Format("Monday 2 January 2006"), "Links created: 1 for £12.34", "digest-ref", "Oldest links still open"} {
				if !strings.Contains(msgs[0].Text, want) {
					t.Errorf("digest lacks %q:\n%s", want, msgs[0].Text)
				}
			}
		})
	}
}

// TestDigestCommand prints a day's digest, and refuses a day that is malformed or in
// the future.
func TestDigestCommand(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	lookup := env{"REDIS_URL": r.url, "PAYLINK_REDIS_PREFIX": r.prefix}.lookup
	tests := []struct {
		args    []string
		out     string
		problem string
	}{
		{args: nil, out: "Paylink digest for Sunday 29 November 2026"},
		{args: []string{"--date", "2026-11-30"}, out: "Paylink digest for Monday 30 November 2026"},
		{args: []string{"--date", "2026-12-01"}, problem: "in the future"},
		{args: []string{"--date", "2026-11-31"}, problem: "not a date"},
		{args: []string{"--date", "yesterday"}, problem: "not a date"},
		{args: []string{"--post"}, problem: "needs PAYLINK_DIGEST_CHANNEL"},
		{args: []string{"extra"}, problem: "extra"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		err := runDigest(context.Background(), tt.args, lookup, &out, now)
		if tt.problem != "" {
			if err == nil || !strings.Contains(err.Error(), tt.problem) {
				t.Errorf("digest %v: error %v, want one saying %q", tt.args, err, tt.problem)
			}
			continue
		}
		if err != nil || !strings.Contains(out.String(), tt.out) {
			t.Errorf("digest %v = %q, %v; want %q", tt.args, out.String(), err, tt.out)
		}
	}
	if err := runDigest(context.Background(), nil, env{}.lookup, &bytes.Buffer{}, now); err == nil || !strings.Contains(err.Error(), "REDIS_URL") {
		t.Errorf("digest without REDIS_URL: %v", err)
	}
}

// TestDigestCommandPosts posts a digest to the fake Slack.
func TestDigestCommandPosts(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	s := fakeslack.New(t, fakeslack.WithToken(testBotToken))
	lookup := env{"REDIS_URL": r.url, "PAYLINK_REDIS_PREFIX": r.prefix, "SLACK_BOT_TOKEN": testBotToken,
		"SLACK_API_URL": s.APIURL(), "PAYLINK_DIGEST_CHANNEL": "C_DIGEST"}.lookup
	var out bytes.Buffer
	if err := runDigest(context.Background(), []string{"--post", "--date", "2026-11-29"}, lookup, &out, time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	msgs := s.Messages("C_DIGEST")
	if len(msgs) != 1 || !strings.Contains(msgs[0].Text, "Sunday 29 November 2026") {
		t.Errorf("posted %+v, want the digest of the 29th", msgs)
	}
}
