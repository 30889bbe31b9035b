package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"

	"github.com/paylink/paylink/bot/fakeslack"
	"github.com/paylink/paylink/dojo/dojotest"
)

const (
	checkSigningSecret = "check-signing-secret-5d1c"
	checkBotToken      = "xoxb-check-bot-token-8a2f"
	checkDojoKey       = "sk_sandbox_check_key_3b7e91"
	checkWebhookSecret = "ws_check_webhook_secret_c4d2"
	checkRedisPassword = "check-redis-password-77aa"
	wrongBotToken      = "xoxb-wrong-bot-token-0000"
	wrongDojoKey       = "sk_sandbox_wrong_key_0000"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	d := dojotest.NewServer(t, dojotest.WithAPIKey(checkDojoKey))
	s := fakeslack.New(t, fakeslack.WithToken(checkBotToken))
	mr := miniredis.RunT(t)
	mr.RequireAuth(checkRedisPassword)
	gone := miniredis.RunT(t)
	goneAddr := gone.Addr()
	gone.Close()
	gone2 := miniredis.RunT(t)
	goneAddr2 := gone2.Addr()
	gone2.Close()

	good := env{
		"SLACK_SIGNING_SECRET": checkSigningSecret,
		"SLACK_BOT_TOKEN":      checkBotToken,
		"SLACK_API_URL":        s.APIURL(),
		"DOJO_API_KEY":         checkDojoKey,
		"DOJO_API_URL":         d.URL,
		"DOJO_WEBHOOK_SECRET":  checkWebhookSecret,
		"REDIS_URL":            "redis://:" + checkRedisPassword + "@" + mr.Addr() + "/0",
	}
	with := func(changes env, drop ...string) env {
		e := merge(good, changes)
		for _, k := range drop {
			delete(e, k)
		}
		return e
	}
	tests := []struct {
		name    string
		env     env
		wantErr bool
		want    []string // lines that must appear, by prefix
	}{
		{
			name: "all good",
			env:  good,
			want: []string{
				"OK    configuration:",
				"OK    Slack: team Example (T0001), bot user @paylink (UBOT)",
				"OK    Dojo: DOJO_API_KEY accepted by " + d.URL + " (API version 2026-02-27); a sandbox key",
				"OK    webhooks: DOJO_WEBHOOK_SECRET is set (1 secret)",
				"OK    Redis: redis://" + mr.Addr() + "/0 answers PING",
			},
		},
		{
			name:    "wrong Slack token",
			env:     with(env{"SLACK_BOT_TOKEN": wrongBotToken}),
			wantErr: true,
			want:    []string{"FAIL  Slack: auth.test answered invalid_auth. Fix: SLACK_BOT_TOKEN is wrong or revoked: reinstall the app and copy the Bot User OAuth Token", "OK    Dojo:", "OK    Redis:"},
		},
		{
			name:    "wrong Dojo key",
			env:     with(env{"DOJO_API_KEY": wrongDojoKey}),
			wantErr: true,
			want:    []string{"OK    Slack:", "FAIL  Dojo: Dojo refused DOJO_API_KEY (HTTP 401 Unauthorized). Fix:", "OK    Redis:"},
		},
		{
			name:    "Redis unreachable",
			env:     with(env{"REDIS_URL": "redis://:" + checkRedisPassword + "@" + goneAddr}),
			wantErr: true,
			want:    []string{"OK    Slack:", "OK    Dojo:", "FAIL  Redis: PING to redis://" + goneAddr + "/0 failed: "},
		},
		{
			name:    "Redis password wrong",
			env:     with(env{"REDIS_URL": "redis://:not-the-password@" + mr.Addr()}),
			wantErr: true,
			want:    []string{"FAIL  Redis: PING to redis://" + mr.Addr()},
		},
		{
			name:    "REDIS_URL malformed",
			env:     with(env{"REDIS_URL": "redis://:" + checkRedisPassword + "@" + mr.Addr() + "/0?cluster=maybe"}),
			wantErr: true,
			want:    []string{"FAIL  Redis: REDIS_URL: cluster=\"maybe\": write cluster=true. Fix: write it as redis://"},
		},
		{
			name:    "Cluster nodes down",
			env:     with(env{"REDIS_URL": "redis://:" + checkRedisPassword + "@" + goneAddr + "?cluster=true&addr=" + goneAddr2}),
			wantErr: true,
			want: []string{
				"FAIL  Redis cluster node " + goneAddr + ": CLUSTER INFO: dial tcp " + goneAddr,
				"FAIL  Redis cluster node " + goneAddr2 + ": CLUSTER INFO: dial tcp " + goneAddr2,
				"FAIL  Redis: cluster redis://" + goneAddr + "," + goneAddr2 + " can't be written",
			},
		},
		{
			name:    "sentinels down",
			env:     with(env{"REDIS_URL": "redis://:" + checkRedisPassword + "@" + goneAddr + "/0?master_name=mymaster&addr=" + goneAddr2}),
			wantErr: true,
			want: []string{
				"FAIL  Redis sentinel " + goneAddr + ": dial tcp " + goneAddr,
				"FAIL  Redis sentinel " + goneAddr2 + ": dial tcp " + goneAddr2,
				"FAIL  Redis master mymaster: no sentinel named a master called \"mymaster\"",
				"FAIL  Redis: sentinel redis://" + goneAddr + "," + goneAddr2 + "/0 master mymaster can't be written",
			},
		},
		{
			name:    "missing required variables",
			env:     with(nil, "SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "DOJO_API_KEY"),
			wantErr: true,
			want: []string{
				"FAIL  configuration: missing required environment variables: SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN, DOJO_API_KEY. Fix: set them",
				"FAIL  Slack: not checked: SLACK_BOT_TOKEN is not set",
				"FAIL  Dojo: not checked: DOJO_API_KEY is not set",
				"OK    Redis:",
			},
		},
		{
			name: "embedded Redis and no webhook secret only warn",
			env:  with(nil, "REDIS_URL", "DOJO_WEBHOOK_SECRET"),
			want: []string{
				"OK    Slack:", "OK    Dojo:",
				"WARN  webhooks: DOJO_WEBHOOK_SECRET is not set: /dojo/webhooks answers 503, and only reconciliation",
				"WARN  Redis: REDIS_URL is not set: embedded in-process Redis: fine for trying it, not for production",
			},
		},
		{
			name: "a rotation's two secrets",
			env:  with(env{"DOJO_WEBHOOK_SECRET": checkWebhookSecret + ",ws_check_old_secret_9f9f"}),
			want: []string{"OK    webhooks: DOJO_WEBHOOK_SECRET is set (2 secrets, as during a rotation)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), []string{"paylink", "check", "--timeout", "3s"}, tt.env.lookup, &out, &out)
			text := out.String()
			if (err != nil) != tt.wantErr {
				t.Errorf("err = %v, want error %v\n%s", err, tt.wantErr, text)
			}
			lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
			for _, want := range tt.want {
				found := false
				for _, l := range lines {
					found = found || strings.HasPrefix(l, want)
				}
				if !found {
					t.Errorf("no line starting %q in\n%s", want, text)
				}
			}
			if tt.name == "all good" {
				for _, l := range lines {
					if !strings.HasPrefix(l, "OK    ") {
						t.Errorf("line not OK: %q", l)
					}
				}
				if len(lines) != 5 {
					t.Errorf("%d lines, want 5:\n%s", len(lines), text)
				}
			}
			for _, secret := range []string{checkSigningSecret, checkBotToken, checkDojoKey, checkWebhookSecret, checkRedisPassword, wrongBotToken, wrongDojoKey, "ws_check_old_secret_9f9f"} {
				if strings.Contains(text, secret) || err != nil && strings.Contains(err.Error(), secret) {
					t.Errorf("output shows the secret %q:\n%s", secret, text)
				}
			}
		})
	}
}

func TestCheckNeverCreates(t *testing.T) {
	t.Parallel()
	d := dojotest.NewServer(t, dojotest.WithAPIKey(checkDojoKey))
	s := fakeslack.New(t, fakeslack.WithToken(checkBotToken))
	e := env{
		"SLACK_SIGNING_SECRET": checkSigningSecret,
		"SLACK_BOT_TOKEN":      checkBotToken,
		"SLACK_API_URL":        s.APIURL(),
		"DOJO_API_KEY":         checkDojoKey,
		"DOJO_API_URL":         d.URL,
	}
	var out bytes.Buffer
	if err := runCheck(context.Background(), nil, e.lookup, &out); err != nil {
		t.Fatalf("check: %v\n%s", err, out.String())
	}
	reqs := d.Requests()
	if len(reqs) != 1 || reqs[0].Method != "POST" || reqs[0].Path != "/payment-intents/search" || string(reqs[0].Body) != `{"cursor":{"limit":1}}` {
		t.Errorf("Dojo requests: %+v", reqs)
	}
	if len(d.Created()) != 0 {
		t.Error("check created a payment intent")
	}
	if calls := s.AllCalls(); len(calls) != 1 || calls[0].Method != "auth.test" {
		t.Errorf("Slack calls: %+v", calls)
	}
}

func TestCheckUsage(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := runCheck(context.Background(), []string{"--nope"}, env{}.lookup, &out); err == nil {
		t.Error("unknown flag accepted")
	}
	if !strings.Contains(out.String(), "usage: paylink check") {
		t.Errorf("no usage for an unknown flag:\n%s", out.String())
	}
	out.Reset()
	if err := runCheck(context.Background(), []string{"extra"}, env{}.lookup, &out); err == nil || !strings.Contains(out.String(), "usage: paylink check") {
		t.Errorf("extra argument: err %v\n%s", err, out.String())
	}
	out.Reset()
	if err := runCheck(context.Background(), []string{"-h"}, env{}.lookup, &out); err != nil || !strings.Contains(out.String(), "usage: paylink check") {
		t.Errorf("-h: err %v\n%s", err, out.String())
	}
}
