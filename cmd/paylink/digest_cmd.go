package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/paylink/paylink/bot/digest"
	"github.com/paylink/paylink/bot/slackout"
	"github.com/paylink/paylink/store"
)

const digestUsage = `usage: paylink digest [--date 2026-11-29] [--post]

Prints the daily digest of a day (yesterday by default, in PAYLINK_TIMEZONE): links
created, paid, canceled, expired and refunded with their amounts per currency, the top
agents, and the oldest links still open now. --post posts it to PAYLINK_DIGEST_CHANNEL
with SLACK_BOT_TOKEN instead, whether or not the daily digest of that day went out.
Needs REDIS_URL (and PAYLINK_REDIS_PREFIX when it is not the default): an embedded
Redis lives only inside the paylink process that runs it.
`

// runDigest prints or posts a day's digest: paylink digest [--date D] [--post].
func runDigest(ctx context.Context, args []string, lookup func(string) (string, bool), stdout io.Writer, now time.Time) error {
	fs := newSubcommandFlags("digest", digestUsage, stdout)
	date := fs.String("date", "", "the day, as 2026-11-29 (default: yesterday)")
	post := fs.Bool("post", false, "post the digest to PAYLINK_DIGEST_CHANNEL instead of printing it")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	get := func(name, def string) string {
		if v, ok := lookup(name); ok {
			return strings.TrimSpace(v)
		}
		return def
	}
	days, problems := loadDayConfig(get)
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	day := *date
	if day == "" {
		day = now.In(days.Location).AddDate(0, 0, -1).Format(time.DateOnly)
	}
	if _, err := time.Parse(time.DateOnly, day); err != nil {
		return usageError(fs, "--date %q is not a date like 2026-11-29", day)
	}
	token := get("SLACK_BOT_TOKEN", "")
	if *post && (days.DigestChannel == "" || token == "") {
		return errors.New("digest --post needs PAYLINK_DIGEST_CHANNEL and SLACK_BOT_TOKEN")
	}
	raw := get("REDIS_URL", "")
	if raw == "" {
		return errors.New("digest needs REDIS_URL: an embedded Redis lives only inside the paylink process that runs it")
	}
	rc, err := store.ParseRedisURL(raw)
	if err != nil {
		return err
	}
	rdb := rc.NewClient()
	defer rdb.Close()
	st := store.New(rdb, store.Options{Prefix: get("PAYLINK_REDIS_PREFIX", store.DefaultPrefix), Location: days.Location})
	r, err := digest.Build(ctx, st, day, now)
	if errors.Is(err, digest.ErrBadDay) {
		return usageError(fs, "--date: %v", strings.TrimPrefix(err.Error(), digest.ErrBadDay.Error()+": "))
	}
	if err != nil {
		return err
	}
	text, blocks := slackout.Digest(r)
	if !*post {
		_, err := fmt.Fprintln(stdout, text)
		return err
	}
	apiURL := get("SLACK_API_URL", "https://slack.com/api/")
	if !strings.HasSuffix(apiURL, "/") {
		apiURL += "/"
	}
	chat := slackout.NewChat(newHTTPClient(10*time.Second), apiURL, token)
	if err := digest.SlackPoster(chat, clockwork.NewRealClock())(ctx, days.DigestChannel, text, blocks); err != nil {
		return fmt.Errorf("digest: post to %s: %s", days.DigestChannel, slackout.ErrorCode(err))
	}
	fmt.Fprintf(stdout, "posted the digest of %s to %s\n", day, days.DigestChannel)
	return nil
}

// digestClockKey carries, in serve's context, the clock the daily digest follows.
type digestClockKey struct{}

// withDigestClock makes the digest scheduler of a paylink served with ctx follow clock:
// tests move it on.
func withDigestClock(ctx context.Context, clock clockwork.Clock) context.Context {
	return context.WithValue(ctx, digestClockKey{}, clock)
}

// digestClock is the clock ctx carries for the digest, else def.
func digestClock(ctx context.Context, def clockwork.Clock) clockwork.Clock {
	if c, ok := ctx.Value(digestClockKey{}).(clockwork.Clock); ok {
		return c
	}
	return def
}
