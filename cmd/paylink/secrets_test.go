package main

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/paylink/paylink/bot"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/dojo/dojotest"
)

// TestNoSecretInLogs runs every flow, with debug logging, and checks that no secret
// appears in any log line.
func TestNoSecretInLogs(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, merge(fastNotify, env{"DOJO_WEBHOOK_SECRET": testWebhookSecret + ",ws_second_secret_value"}))
	id, ts := h.makeLink("10 GBP secrets-1")
	h.dojo.SetStatus(id, dojo.StatusCaptured)
	h.sendWebhook(dojotest.Event(id, dojo.StatusCaptured))
	waitNotices(t, h.slack, "Paid", 1, 5*time.Second)
	other, _ := h.makeLink("11 GBP secrets-2")
	h.sendInteraction(h.buttonPress("U2147483697", "C2147483705", ts, "refresh_status", id, "s1"))
	h.sendCommand(h.commandForm("cancel secrets-2", "s2"))
	_ = other
	h.dojo.FailNext(1, 401, `{"title":"Unauthorized","status":401}`)
	h.sendCommand(h.commandForm("12 GBP secrets-3", "s3"))
	// Bad signatures of every kind.
	req, _ := http.NewRequest(http.MethodPost, h.url+bot.PathCommands, strings.NewReader("text=x"))
	req.Header.Set("X-Slack-Signature", "v0=00")
	req.Header.Set("X-Slack-Request-Timestamp", "1")
	h.do(req)
	wreq, _ := http.NewRequest(http.MethodPost, h.url+bot.PathDojoWebhooks, strings.NewReader("{}"))
	wreq.Header.Set("dojo-signature", "sha256=00")
	h.do(wreq)
	time.Sleep(300 * time.Millisecond)
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	out := h.out.String()
	if !strings.Contains(out, "paylink started") || !strings.Contains(out, "status notice") {
		t.Fatalf("the log is missing flows: %d bytes", len(out))
	}
	for name, secret := range map[string]string{
		"signing secret":   testSigningSecret,
		"bot token":        testBotToken,
		"Dojo key":         testDojoKey,
		"webhook secret":   testWebhookSecret,
		"second secret":    "ws_second_secret_value",
		"Dojo key's tail":  testDojoKey[len(testDojoKey)-12:],
		"webhook key tail": testWebhookSecret[3:],
	} {
		if strings.Contains(out, secret) {
			t.Errorf("the %s appears in the log", name)
		}
	}
}

// TestConfigLogRedacts: the configuration logged at start shows secrets only as set or
// unset.
func TestConfigLogRedacts(t *testing.T) {
	t.Parallel()
	e := env{
		"SLACK_SIGNING_SECRET": "sign-secret-value", "SLACK_BOT_TOKEN": "xoxb-bot-token-value",
		"SLACK_APP_TOKEN": "xapp-app-token-value", "DOJO_API_KEY": "sk_sandbox_key_value",
		"DOJO_WEBHOOK_SECRET": "ws_one,ws_two", "REDIS_URL": "redis://:redis-password@redis.example:6379/0",
	}
	cfg, _, err := loadConfig(e.lookup)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	logger := zerolog.New(&buf)
	cfg.logFields(logger.Info()).Msg("config")
	for k, v := range e {
		for _, part := range strings.Split(v, ",") {
			if k == "REDIS_URL" {
				part = "redis-password"
			}
			if strings.Contains(buf.String(), part) {
				t.Errorf("%s's value appears in the logged configuration: %s", k, buf.String())
			}
		}
	}
	if !strings.Contains(buf.String(), `"dojo_api_key":"set"`) {
		t.Errorf("logged configuration %s does not say the key is set", buf.String())
	}
}

// TestResponseURLNotLogged: a response_url is a bearer credential for its command, so
// a post to it that fails is logged with the URL's host only.
func TestResponseURLNotLogged(t *testing.T) {
	t.Parallel()
	const token = "hooks-secret-token-5f1c"
	closed := "127.0.0.1:" + freePort(t)
	tests := []struct {
		name, url, host string
	}{
		{"connection refused", "http://" + closed + "/commands/T0001/123/" + token, closed},
		{"unparsable", "http://" + closed + "/commands/T0001/123/" + token + "\x7f", closed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := redisTargets(t)[0]
			h := startPaylink(t, r, nil)
			press := h.buttonPress("U2147483697", "C2147483705", "1700000000.000100", "refresh_status", "pi_sandbox_unknown", "x")
			press["response_url"] = tt.url
			h.sendInteraction(press)
			waitFor(t, "the failed response_url post in the log", func() bool {
				return strings.Contains(h.out.String(), "could not answer through response_url")
			})
			out := h.out.String()
			if strings.Contains(out, token) {
				t.Errorf("the response_url's token appears in the log")
			}
			if !strings.Contains(out, tt.host) {
				t.Errorf("the log does not name the response_url's host %s", tt.host)
			}
		})
	}
}
