package slackin

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"
)

// fakeHandler answers every request with its reply, or panics.
type fakeHandler struct {
	reply Reply
	panic bool
	got   []Request
}

func (h *fakeHandler) Replayed(context.Context, zerolog.Logger, string) bool { return false }

func (h *fakeHandler) Command(_ context.Context, _ zerolog.Logger, in Request, _ slack.SlashCommand) Reply {
	h.got = append(h.got, in)
	if h.panic {
		panic("boom")
	}
	return h.reply
}

func (h *fakeHandler) Interaction(_ context.Context, _ zerolog.Logger, in Request, _ *slack.InteractionCallback) Reply {
	h.got = append(h.got, in)
	return h.reply
}

// TestSocketCallsTheHandlerDirectly: a Socket Mode request reaches the typed handler
// with a request id and no signature, and its reply is the acknowledgement's payload.
func TestSocketCallsTheHandlerDirectly(t *testing.T) {
	h := &fakeHandler{reply: Reply{Text: "hello"}}
	s := socket{log: zerolog.Nop(), h: h}
	payload, err := s.command(context.Background(), slack.SlashCommand{Text: "help"})
	if err != nil {
		t.Fatal(err)
	}
	var got commandReply
	if err := json.Unmarshal(payload, &got); err != nil || got.Text != "hello" || got.ResponseType != "ephemeral" {
		t.Errorf("payload %s: %v", payload, err)
	}
	if len(h.got) != 1 || h.got[0].ID == "" || h.got[0].Signature != "" {
		t.Errorf("requests %+v, want one with an id and no signature", h.got)
	}

	h.reply = Reply{ViewErrors: map[string]string{"amount": "too much"}}
	payload, err = s.interaction(context.Background(), json.RawMessage(`{"type":"view_submission","user":{"id":"U1"}}`))
	if err != nil || string(payload) != `{"response_action":"errors","errors":{"amount":"too much"}}` {
		t.Errorf("form problems: %s, %v", payload, err)
	}
	if _, err := s.interaction(context.Background(), json.RawMessage(`{"type":""}`)); err == nil {
		t.Error("a payload without a type was taken")
	}

	h.reply, h.panic = Reply{}, true
	if _, err := s.command(context.Background(), slack.SlashCommand{}); err == nil {
		t.Error("a handler that panicked was acknowledged")
	}
}
