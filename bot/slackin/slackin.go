// Package slackin is what Slack sends paylink: it verifies and decodes slash commands,
// button actions and form submissions, over HTTP or Socket Mode, and hands them, typed,
// to a Handler. Nothing else in paylink reads Slack's wire format.
package slackin

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"github.com/paylink/paylink/bot/edge"
)

// Body limits: a slash command's body is well under 4 KiB; an interaction payload
// carries the message or view it came from, a few KiB to tens of KiB.
const (
	commandBodyLimit     = 64 << 10
	interactionBodyLimit = 256 << 10
)

// Request is what came with a command or an interaction besides its content.
type Request struct {
	// ID is the request's id (the X-Request-Id answered): it marks the request's log
	// lines and its claim.
	ID string
	// Signature is the replay guard's key for the request: its signature, as
	// lower-case hex. Empty over Socket Mode, which Slack authenticates on the
	// connection.
	Signature string
}

// Reply answers a command or an interaction.
type Reply struct {
	// Text and Blocks answer a command, shown only to its author; neither: an empty 200.
	Text   string
	Blocks []slack.Block
	// Unauthorized answers 401 "request already seen": the request was a replay.
	Unauthorized bool
	// Invalid answers 400 with this text: an interaction that makes no sense.
	Invalid string
	// ViewErrors answers a form submission with problems shown on its fields.
	ViewErrors map[string]string
}

// Handler does what Slack asks. Its methods answer within Slack's 3 seconds and leave
// slow work to the background.
type Handler interface {
	// Replayed reports whether a request's signature was seen before (and notes it
	// seen). An interaction is checked before it is decoded; a command where the
	// handler chooses.
	Replayed(ctx context.Context, log zerolog.Logger, sig string) bool
	// Command handles a slash command.
	Command(ctx context.Context, log zerolog.Logger, in Request, sc slack.SlashCommand) Reply
	// Interaction handles a button press (block_actions) or a form submission
	// (view_submission).
	Interaction(ctx context.Context, log zerolog.Logger, in Request, cb *slack.InteractionCallback) Reply
}

// Commands serves POST /slack/commands. It verifies the signature on the raw body
// before anything else, decodes the form into a slack.SlashCommand, and writes h's
// reply.
func Commands(v *Verifier, h Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log := zerolog.Ctx(r.Context())
		body, ok := readRequest(w, r, v, commandBodyLimit, "slash command")
		if !ok {
			return
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			http.Error(w, "the body is not a form", http.StatusBadRequest)
			return
		}
		if form.Get("ssl_check") == "1" {
			w.WriteHeader(http.StatusOK)
			return
		}
		in := Request{ID: w.Header().Get(edge.RequestIDHeader), Signature: replayKey(r.Header)}
		writeCommandReply(w, h.Command(r.Context(), *log, in, slashCommand(form)))
	})
}

// Interactions serves POST /slack/interactions: buttons (block_actions) and the form
// (view_submission). It verifies the signature on the raw body first, refuses a
// replay, decodes the payload, and writes h's reply.
func Interactions(v *Verifier, h Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log := zerolog.Ctx(r.Context())
		body, ok := readRequest(w, r, v, interactionBodyLimit, "interaction")
		if !ok {
			return
		}
		in := Request{ID: w.Header().Get(edge.RequestIDHeader), Signature: replayKey(r.Header)}
		if h.Replayed(r.Context(), *log, in.Signature) {
			http.Error(w, "request already seen", http.StatusUnauthorized)
			return
		}
		cb, err := decodeInteraction(body)
		if err != nil {
			log.Warn().Err(err).Msg("interaction rejected: malformed payload")
			http.Error(w, "malformed payload", http.StatusBadRequest)
			return
		}
		writeInteractionReply(w, h.Interaction(r.Context(), *log, in, cb))
	})
}

// readRequest reads a Slack request's body, at most limit bytes, and checks its
// signature before anything else, then that it is a form. On any failure it has
// answered (413, 400 or 401) and returns false.
func readRequest(w http.ResponseWriter, r *http.Request, v *Verifier, limit int64, what string) ([]byte, bool) {
	log := zerolog.Ctx(r.Context())
	body, err := edge.ReadBody(w, r, limit)
	switch {
	case errors.Is(err, edge.ErrTooLarge):
		log.Warn().Msg(what + " body too large")
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		return nil, false
	case err != nil:
		http.Error(w, "could not read the request body", http.StatusBadRequest)
		return nil, false
	}
	if err := v.verify(r.Header, body); err != nil {
		log.Warn().Err(err).Msg(what + " rejected: bad signature")
		http.Error(w, "invalid request signature", http.StatusUnauthorized)
		return nil, false
	}
	if !isForm(r) {
		http.Error(w, "expected application/x-www-form-urlencoded", http.StatusBadRequest)
		return nil, false
	}
	return body, true
}

// isForm reports whether the request says it carries a URL-encoded form, as Slack's do.
func isForm(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// slashCommand reads the fields of a slash command form.
func slashCommand(f url.Values) slack.SlashCommand {
	return slack.SlashCommand{
		TeamID:      f.Get("team_id"),
		TeamDomain:  f.Get("team_domain"),
		ChannelID:   f.Get("channel_id"),
		ChannelName: f.Get("channel_name"),
		UserID:      f.Get("user_id"),
		UserName:    f.Get("user_name"),
		Command:     f.Get("command"),
		Text:        f.Get("text"),
		ResponseURL: f.Get("response_url"),
		TriggerID:   f.Get("trigger_id"),
		APIAppID:    f.Get("api_app_id"),
	}
}

// decodeInteraction reads the payload field of an interaction form.
func decodeInteraction(body []byte) (*slack.InteractionCallback, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, err
	}
	payload := form.Get("payload")
	if payload == "" {
		return nil, errors.New("no payload")
	}
	return decodePayload([]byte(payload))
}

// decodePayload reads an interaction payload's JSON.
func decodePayload(payload []byte) (*slack.InteractionCallback, error) {
	var cb slack.InteractionCallback
	if err := json.Unmarshal(payload, &cb); err != nil {
		return nil, err
	}
	if cb.Type == "" || cb.User.ID == "" {
		return nil, errors.New("payload without type or user")
	}
	return &cb, nil
}

// commandReply is the body of a slash command's immediate reply: only the fields that
// mean something there (slack.Msg would add null blocks, empty metadata and
// delete_original, which Slack does not support in this reply).
type commandReply struct {
	ResponseType string        `json:"response_type"`
	Text         string        `json:"text,omitempty"`
	Blocks       []slack.Block `json:"blocks,omitempty"`
}

// commandBody is the JSON a command is acknowledged with; nil for an empty 200.
func commandBody(r Reply) []byte {
	if r.Text == "" && r.Blocks == nil {
		return nil
	}
	b, _ := json.Marshal(commandReply{ResponseType: slack.ResponseTypeEphemeral, Text: r.Text, Blocks: r.Blocks})
	return b
}

// writeCommandReply answers a slash command with r, seen only by its author.
func writeCommandReply(w http.ResponseWriter, r Reply) {
	if r.Unauthorized {
		http.Error(w, "request already seen", http.StatusUnauthorized)
		return
	}
	writeJSON(w, commandBody(r))
}

// interactionBody is the JSON an interaction is acknowledged with; nil for an empty 200.
func interactionBody(r Reply) []byte {
	if r.ViewErrors == nil {
		return nil
	}
	b, _ := json.Marshal(slack.NewErrorsViewSubmissionResponse(r.ViewErrors))
	return b
}

// writeInteractionReply answers an interaction with r.
func writeInteractionReply(w http.ResponseWriter, r Reply) {
	switch {
	case r.Unauthorized:
		http.Error(w, "request already seen", http.StatusUnauthorized)
	case r.Invalid != "":
		http.Error(w, r.Invalid, http.StatusBadRequest)
	default:
		writeJSON(w, interactionBody(r))
	}
}

// writeJSON answers 200 with body as JSON, or empty when body is nil.
func writeJSON(w http.ResponseWriter, body []byte) {
	if body == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(body, '\n'))
}
