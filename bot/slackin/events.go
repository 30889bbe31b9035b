package slackin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/rs/zerolog"

	"github.com/paylink/paylink/bot/edge"
)

// eventBodyLimit bounds an Events API request: the events paylink takes are well
// under 4 KiB.
const eventBodyLimit = 64 << 10

// The Events API's envelope types and the events paylink takes.
const (
	EnvelopeURLVerification = "url_verification"
	EnvelopeEventCallback   = "event_callback"

	EventAppHomeOpened  = "app_home_opened"
	EventAppUninstalled = "app_uninstalled"
	EventTokensRevoked  = "tokens_revoked"
)

// Event is one Events API event, as paylink reads it.
type Event struct {
	Type       string // the inner event's type: EventAppHomeOpened…
	ID         string // the envelope's event_id: unique across retries' signatures
	Team       string // the workspace
	User       string // app_home_opened: whose Home tab
	Tab        string // app_home_opened: "home" or "messages"
	BotRevoked bool   // tokens_revoked: the bot's token is among those revoked
}

// Envelope is an Events API request: a url_verification (Challenge) or an
// event_callback (Event).
type Envelope struct {
	Type      string
	Challenge string
	Event     Event
}

// wireEnvelope is the JSON Slack sends.
type wireEnvelope struct {
	Type      string `json:"type"`
	Challenge string `json:"challenge"`
	TeamID    string `json:"team_id"`
	EventID   string `json:"event_id"`
	Event     *struct {
		Type   string `json:"type"`
		User   string `json:"user"`
		Tab    string `json:"tab"`
		Tokens *struct {
			Bot []string `json:"bot"`
		} `json:"tokens"`
	} `json:"event"`
}

// ErrMalformedEvent is an Events API body that is not an envelope paylink can read.
var ErrMalformedEvent = errors.New("malformed event")

// ParseEvent reads an Events API envelope: a url_verification with its challenge, or
// an event_callback with its event (an event paylink does not take keeps its type, for
// the log). Anything else, or a body that is not such JSON, is ErrMalformedEvent.
func ParseEvent(body []byte) (Envelope, error) {
	var w wireEnvelope
	if err := json.Unmarshal(body, &w); err != nil {
		return Envelope{}, errors.Join(ErrMalformedEvent, err)
	}
	switch w.Type {
	case EnvelopeURLVerification:
		if w.Challenge == "" {
			return Envelope{}, errors.Join(ErrMalformedEvent, errors.New("url_verification without a challenge"))
		}
		return Envelope{Type: w.Type, Challenge: w.Challenge}, nil
	case EnvelopeEventCallback:
		if w.Event == nil || w.Event.Type == "" {
			return Envelope{}, errors.Join(ErrMalformedEvent, errors.New("event_callback without an event type"))
		}
		ev := Event{Type: w.Event.Type, ID: w.EventID, Team: w.TeamID, User: w.Event.User, Tab: w.Event.Tab}
		if w.Event.Tokens != nil {
			ev.BotRevoked = len(w.Event.Tokens.Bot) > 0
		}
		if ev.Type == EventAppHomeOpened && ev.User == "" {
			return Envelope{}, errors.Join(ErrMalformedEvent, errors.New("app_home_opened without a user"))
		}
		return Envelope{Type: w.Type, Event: ev}, nil
	}
	return Envelope{}, errors.Join(ErrMalformedEvent, errors.New("unknown envelope type"))
}

// EventHandler takes Events API events. Event must return at once (Slack wants its
// answer within 3 seconds) and leave slow work to the background.
type EventHandler interface {
	// Replayed reports whether a request's signature was seen before (and notes it
	// seen); see Handler.
	Replayed(ctx context.Context, log zerolog.Logger, sig string) bool
	Event(ctx context.Context, log zerolog.Logger, ev Event)
}

// Events serves POST /slack/events, Slack's Events API: it verifies the signature on
// the raw body (at most 64 KiB, else 413) before anything else (401), refuses a replay
// (401), answers url_verification with its challenge, and hands each event to h.
func Events(v *Verifier, h EventHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log := zerolog.Ctx(r.Context())
		body, err := edge.ReadBody(w, r, eventBodyLimit)
		switch {
		case errors.Is(err, edge.ErrTooLarge):
			log.Warn().Msg("event body too large")
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		case err != nil:
			http.Error(w, "could not read the request body", http.StatusBadRequest)
			return
		}
		if err := v.verify(r.Header, body); err != nil {
			log.Warn().Err(err).Msg("event rejected: bad signature")
			http.Error(w, "invalid request signature", http.StatusUnauthorized)
			return
		}
		if h.Replayed(r.Context(), *log, replayKey(r.Header)) {
			http.Error(w, "request already seen", http.StatusUnauthorized)
			return
		}
		env, err := ParseEvent(body)
		if err != nil {
			log.Warn().Err(err).Msg("event rejected")
			http.Error(w, "malformed event", http.StatusBadRequest)
			return
		}
		if env.Type == EnvelopeURLVerification {
			b, _ := json.Marshal(map[string]string{"challenge": env.Challenge})
			writeJSON(w, b)
			return
		}
		h.Event(r.Context(), log.With().Str("event", env.Event.Type).Str("team", env.Event.Team).Logger(), env.Event)
		w.WriteHeader(http.StatusOK)
	})
}
