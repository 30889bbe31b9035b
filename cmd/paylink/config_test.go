package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// required is the least configuration that loads.
var required = env{
	"SLACK_SIGNING_SECRET": "s",
	"SLACK_BOT_TOKEN":      "xoxb-1",
	"DOJO_API_KEY":         "sk_sandbox_1",
}

func TestListenAddress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, listen, port string
		want               string // "" when the configuration is refused
	}{
		{"default: every interface on PORT's default", "", "", ":8080"},
		{"PORT alone", "", "9000", ":9000"},
		{"loopback with a port", "127.0.0.1:8080", "", "127.0.0.1:8080"},
		{"its port wins over PORT", "127.0.0.1:8081", "9000", "127.0.0.1:8081"},
		{"a host alone takes PORT", "127.0.0.1", "9000", "127.0.0.1:9000"},
		{"a host alone takes PORT's default", "localhost", "", "localhost:8080"},
		{"IPv6 with a port", "[::1]:8080", "", "[::1]:8080"},
		{"IPv6 alone", "::1", "9000", "[::1]:9000"},
		{"IPv6 bracketed alone", "[::1]", "9000", "[::1]:9000"},
		{"every interface, a port", ":8082", "", ":8082"},
		{"any free port", "127.0.0.1:0", "", "127.0.0.1:0"},
		{"a port out of range", "127.0.0.1:70000", "", ""},
		{"a port that is no number", "127.0.0.1:http-alt", "", ""},
		{"a URL", "http://127.0.0.1:8080", "", ""},
		{"a path", "127.0.0.1/8080", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := merge(required, env{})
			if tt.listen != "" {
				e["PAYLINK_LISTEN"] = tt.listen
			}
			if tt.port != "" {
				e["PORT"] = tt.port
			}
			cfg, _, err := loadConfig(e.lookup)
			if tt.want == "" {
				if err == nil || !strings.Contains(err.Error(), "PAYLINK_LISTEN") {
					t.Fatalf("PAYLINK_LISTEN=%q: error %v, want one naming PAYLINK_LISTEN", tt.listen, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Listen != tt.want {
				t.Errorf("PAYLINK_LISTEN=%q PORT=%q: listen on %q, want %q", tt.listen, tt.port, cfg.Listen, tt.want)
			}
		})
	}
}

// TestStartLogDurations checks that the configuration logged at start gives durations
// as durations ("15s"), not as bare numbers of milliseconds.
func TestStartLogDurations(t *testing.T) {
	t.Parallel()
	cfg, _, err := loadConfig(merge(required, env{"DOJO_TIMEOUT": "15s", "PAYLINK_ACK_BUDGET": "25ms", "PAYLINK_RATE_LIMIT": "30/h"}).lookup)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log := zerolog.New(&buf)
	cfg.logFields(log.Info()).Msg("paylink started")
	var fields map[string]any
	if err := json.Unmarshal(buf.Bytes(), &fields); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ field, want string }{
		{"dojo_timeout", "15s"},
		{"ack_budget", "25ms"},
		{"slow_notice", "1.5s"},
		{"retype_window", "10m0s"},
		{"redis_wait_timeout", "500ms"},
		{"notify_claim_idle", "10s"},
		{"notify_retry_base", "5s"},
		{"reconcile_interval", "5m0s"},
		{"rate_window", "1h0m0s"},
		{"listen", ":8080"},
	}
	for _, tt := range tests {
		if got := fields[tt.field]; got != tt.want {
			t.Errorf("%s logged as %#v, want %q", tt.field, got, tt.want)
		}
	}
	for name, v := range fields {
		if _, isNumber := v.(float64); isNumber && (strings.HasSuffix(name, "_timeout") || strings.HasSuffix(name, "_budget") || strings.HasSuffix(name, "_interval")) {
			t.Errorf("%s is logged as a bare number %v", name, v)
		}
	}
}

func TestRefundersSetting(t *testing.T) {
	t.Parallel()
	env := map[string]string{"SLACK_SIGNING_SECRET": "s", "SLACK_BOT_TOKEN": "xoxb-1", "DOJO_API_KEY": "sk_sandbox_1",
		"PAYLINK_REFUNDERS": " U1, U2 ,,", "PAYLINK_ADMINS": "UA"}
	c, problems, err := loadConfig(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil || len(problems) > 0 {
		t.Fatalf("loadConfig: %v %v", problems, err)
	}
	if !c.Policy.MayRefund("U1") || !c.Policy.MayRefund("U2") || !c.Policy.MayRefund("UA") || c.Policy.MayRefund("U3") || len(c.Policy.Refunders) != 2 {
		t.Errorf("refunders = %v, admins %v", c.Policy.Refunders, c.Policy.Admins)
	}
}

// TestMaxInFlightDefault: the bound on work in flight is 2000 with a Redis server and 64
// with the embedded Redis, which serves one command at a time; PAYLINK_MAX_IN_FLIGHT
// sets it either way.
func TestMaxInFlightDefault(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		e    env
		want int
	}{
		{"a Redis server", env{"REDIS_URL": "redis://127.0.0.1:6379/0"}, 2000},
		{"the embedded Redis", env{}, 64},
		{"set, with a Redis server", env{"REDIS_URL": "redis://127.0.0.1:6379/0", "PAYLINK_MAX_IN_FLIGHT": "500"}, 500},
		{"set, with the embedded Redis", env{"PAYLINK_MAX_IN_FLIGHT": "500"}, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, err := loadConfig(merge(required, tt.e).lookup)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.MaxInFlight != tt.want {
				t.Errorf("MaxInFlight = %d, want %d", cfg.MaxInFlight, tt.want)
			}
		})
	}
}

// TestCardWaitCoversTheWork: a notice waits for its link's card as long as a command's
// work may take, whatever DOJO_TIMEOUT is, and no longer.
func TestCardWaitCoversTheWork(t *testing.T) {
	t.Parallel()
	tests := []struct {
		dojoTimeout string
		want        time.Duration
	}{
		{"", 45 * time.Second},
		{"700ms", 30*time.Second + 700*time.Millisecond},
		{"2m", 150 * time.Second},
	}
	for _, tt := range tests {
		t.Run("DOJO_TIMEOUT="+tt.dojoTimeout, func(t *testing.T) {
			e := env{}
			if tt.dojoTimeout != "" {
				e["DOJO_TIMEOUT"] = tt.dojoTimeout
			}
			cfg, _, err := loadConfig(merge(required, e).lookup)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Notify.CardWait != tt.want || cfg.Notify.CardWait != cfg.workTimeout() {
				t.Errorf("CardWait = %v, want %v (the work's timeout, %v)", cfg.Notify.CardWait, tt.want, cfg.workTimeout())
			}
		})
	}
}
