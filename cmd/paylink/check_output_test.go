package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/paylink/paylink/bot/fakeslack"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/dojo/dojotest"
)

func TestRedisLogFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args   []string
		logged bool
	}{
		{[]string{"paylink"}, true},
		{[]string{"paylink", "serve"}, true},
		{[]string{"paylink", "demo"}, true},
		{[]string{"paylink", "check"}, false},
		{[]string{"paylink", "audit", "--since", "1h"}, false},
		{[]string{"paylink", "webhook", "send"}, false},
		{[]string{"paylink", "version"}, false},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var buf bytes.Buffer
			redisLogFor(tt.args, &buf).Printf(context.Background(), "redis: dial tcp %s: connection refused", "127.0.0.1:1")
			if got := buf.Len() > 0; got != tt.logged {
				t.Errorf("go-redis's message logged: %v, want %v (%q)", got, tt.logged, buf.String())
			}
		})
	}
}

// stderrLogger is go-redis's own default: plain lines on stderr.
type stderrLogger struct{}

func (stderrLogger) Printf(_ context.Context, format string, v ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", v...)
}

// TestCheckRedisDownOutput: with Redis down, the checklist is only checklist lines,
// with no JSON log line from go-redis inside it, as main sets it up for check.
func TestCheckRedisDownOutput(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String()
	ln.Close()

	var out bytes.Buffer
	redis.SetLogger(redisLogFor([]string{"paylink", "check"}, &out))
	defer redis.SetLogger(stderrLogger{})
	d := dojotest.NewServer(t, dojotest.WithAPIKey(checkDojoKey))
	s := fakeslack.New(t, fakeslack.WithToken(checkBotToken))
	e := env{
		"SLACK_SIGNING_SECRET": checkSigningSecret,
		"SLACK_BOT_TOKEN":      checkBotToken,
		"SLACK_API_URL":        s.APIURL(),
		"DOJO_API_KEY":         checkDojoKey,
		"DOJO_API_URL":         d.URL,
		"DOJO_WEBHOOK_SECRET":  checkWebhookSecret,
		"REDIS_URL":            "redis://" + down + "/0",
	}
	err = run(context.Background(), []string{"paylink", "check", "--timeout", "2s"}, e.lookup, &out, &out)
	if err == nil {
		t.Fatal("check passed with Redis down")
	}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if !strings.HasPrefix(line, "OK ") && !strings.HasPrefix(line, "WARN ") && !strings.HasPrefix(line, "FAIL ") {
			t.Errorf("a line that is not a checklist item: %q", line)
		}
	}
	if !strings.Contains(out.String(), "FAIL  Redis") {
		t.Errorf("no Redis failure in:\n%s", out.String())
	}
}

func TestDojoSupportFix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		err        *dojo.Error
		want, bans string
	}{
		{"with a trace id", &dojo.Error{StatusCode: 500, Title: "Internal", TraceID: "00-abc-01"}, "quote the trace id 00-abc-01", ""},
		{"without one", &dojo.Error{StatusCode: 502}, "HTTP 502", "quote the trace id"},
		{"a plain-text answer", &dojo.Error{StatusCode: 503, Detail: "upstream connect error"}, "no trace id", "quote"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := dojoSupportFix(tt.err)
			if !strings.Contains(got, tt.want) || tt.bans != "" && strings.Contains(got, tt.bans) {
				t.Errorf("advice %q: want %q, and not %q", got, tt.want, tt.bans)
			}
		})
	}
}

// TestCheckDojoFailureAdvice: the checklist asks to quote a trace id only when it
// shows one.
func TestCheckDojoFailureAdvice(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, want, bans string
	}{
		{"a problem with a trace id", `{"title":"Internal Server Error","status":500,"traceId":"00-feedface-01"}`, "quote the trace id 00-feedface-01", ""},
		{"no trace id", `upstream connect error`, "the answer carried no trace id", "quote the trace id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := dojotest.NewServer(t, dojotest.WithAPIKey(checkDojoKey))
			d.FailNext(5, 500, tt.body)
			e := env{
				"SLACK_SIGNING_SECRET": checkSigningSecret,
				"SLACK_BOT_TOKEN":      checkBotToken,
				"SLACK_API_URL":        fakeslack.New(t, fakeslack.WithToken(checkBotToken)).APIURL(),
				"DOJO_API_KEY":         checkDojoKey,
				"DOJO_API_URL":         d.URL,
			}
			out, _ := runCLI(t, e, "check", "--timeout", "5s")
			var line string
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(l, "FAIL  Dojo") {
					line = l
				}
			}
			if !strings.Contains(line, tt.want) || tt.bans != "" && strings.Contains(line, tt.bans) {
				t.Errorf("Dojo's line %q: want %q, and not %q\n%s", line, tt.want, tt.bans, out)
			}
		})
	}
}
