package slackin

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestParseEvent(t *testing.T) {
	tests := []struct {
		body string
		want Envelope
		bad  bool
	}{
		{body: `{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`,
			want: Envelope{Type: EnvelopeURLVerification, Challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}},
		{body: `{"type":"event_callback","team_id":"T1","event_id":"Ev1","event":{"type":"app_home_opened","user":"U1","channel":"D1","tab":"home"}}`,
			want: Envelope{Type: EnvelopeEventCallback, Event: Event{Type: EventAppHomeOpened, ID: "Ev1", Team: "T1", User: "U1", Tab: "home"}}},
		{body: `{"type":"event_callback","team_id":"T1","event_id":"Ev2","event":{"type":"app_uninstalled"}}`,
			want: Envelope{Type: EnvelopeEventCallback, Event: Event{Type: EventAppUninstalled, ID: "Ev2", Team: "T1"}}},
		{body: `{"type":"event_callback","team_id":"T1","event_id":"Ev3","event":{"type":"tokens_revoked","tokens":{"oauth":["U1"],"bot":["B1"]}}}`,
			want: Envelope{Type: EnvelopeEventCallback, Event: Event{Type: EventTokensRevoked, ID: "Ev3", Team: "T1", BotRevoked: true}}},
		{body: `{"type":"event_callback","team_id":"T1","event":{"type":"tokens_revoked","tokens":{"oauth":["U1"]}}}`,
			want: Envelope{Type: EnvelopeEventCallback, Event: Event{Type: EventTokensRevoked, Team: "T1"}}},
		{body: `{"type":"event_callback","event":{"type":"message","user":"U1"}}`,
			want: Envelope{Type: EnvelopeEventCallback, Event: Event{Type: "message", User: "U1"}}},
		{body: `{"type":"url_verification"}`, bad: true},
		{body: `{"type":"event_callback"}`, bad: true},
		{body: `{"type":"event_callback","event":{"type":"app_home_opened"}}`, bad: true},
		{body: `{"type":"app_rate_limited"}`, bad: true},
		{body: `[]`, bad: true},
		{body: ``, bad: true},
		{body: `token=x&challenge=y`, bad: true},
	}
	for _, tt := range tests {
		got, err := ParseEvent([]byte(tt.body))
		if tt.bad {
			if !errors.Is(err, ErrMalformedEvent) {
				t.Errorf("ParseEvent(%s) = %+v, %v; want ErrMalformedEvent", tt.body, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseEvent(%s) = %+v, %v; want %+v", tt.body, got, err, tt.want)
		}
	}
}

func FuzzParseEvent(f *testing.F) {
	f.Add([]byte(`{"type":"url_verification","challenge":"c"}`))
	f.Add([]byte(`{"type":"event_callback","team_id":"T1","event":{"type":"app_home_opened","user":"U1","tab":"home"}}`))
	f.Add([]byte(`{"type":"event_callback","event":{"type":"tokens_revoked","tokens":{"bot":["B1"]}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		env, err := ParseEvent(body)
		if err != nil {
			if !errors.Is(err, ErrMalformedEvent) {
				t.Fatalf("error %v is not ErrMalformedEvent", err)
			}
			return
		}
		switch env.Type {
		case EnvelopeURLVerification:
			if env.Challenge == "" {
				t.Fatal("url_verification without a challenge accepted")
			}
		case EnvelopeEventCallback:
			if env.Event.Type == "" || env.Event.Type == EventAppHomeOpened && env.Event.User == "" {
				t.Fatalf("event accepted without what it needs: %+v", env.Event)
			}
		default:
			t.Fatalf("envelope type %q accepted", env.Type)
		}
	})
}

// eventsRecorder is an EventHandler that records events and remembers signatures.
type eventsRecorder struct {
	mu     sync.Mutex
	seen   map[string]bool
	events []Event
}

func (r *eventsRecorder) Replayed(ctx context.Context, log zerolog.Logger, sig string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen[sig] {
		return true
	}
	r.seen[sig] = true
	return false
}

func (r *eventsRecorder) Event(ctx context.Context, log zerolog.Logger, ev Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

func TestEventsHandler(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	v := NewVerifier("secret", func() time.Time { return now })
	rec := &eventsRecorder{seen: map[string]bool{}}
	h := Events(v, rec)
	signed := func(body string, at time.Time) *http.Request {
		req := httptest.NewRequest(http.MethodPost, "/slack/events", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		ts, sig := Sign("secret", at, []byte(body))
		req.Header.Set("X-Slack-Request-Timestamp", ts)
		req.Header.Set("X-Slack-Signature", sig)
		return req
	}
	home := `{"type":"event_callback","team_id":"T1","event_id":"Ev1","event":{"type":"app_home_opened","user":"U1","tab":"home"}}`
	unsigned := httptest.NewRequest(http.MethodPost, "/slack/events", strings.NewReader(home))
	replay := signed(home, now.Add(-time.Second))
	tests := []struct {
		name string
		req  *http.Request
		code int
		body string
	}{
		{"url_verification", signed(`{"type":"url_verification","challenge":"abc"}`, now), 200, `{"challenge":"abc"}`},
		{"event", replay, 200, ""},
		{"replayed", signed(home, now.Add(-time.Second)), 401, "request already seen"},
		{"unsigned", unsigned, 401, "invalid request signature"},
		{"stale", signed(home, now.Add(-6*time.Minute)), 401, "invalid request signature"},
		{"malformed", signed(`{"type":"nope"}`, now), 400, "malformed event"},
		{"too large", signed(`{"type":"url_verification","challenge":"`+strings.Repeat("a", eventBodyLimit)+`"}`, now), 413, "too large"},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, tt.req.WithContext(zerolog.Nop().WithContext(context.Background())))
		if w.Code != tt.code || !bytes.Contains(w.Body.Bytes(), []byte(tt.body)) {
			t.Errorf("%s: %d %q, want %d %q", tt.name, w.Code, w.Body.String(), tt.code, tt.body)
		}
	}
	if len(rec.events) != 1 || rec.events[0].User != "U1" {
		t.Errorf("events handed on = %+v, want the one app_home_opened", rec.events)
	}
}
