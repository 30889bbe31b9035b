package slackin

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
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

// clockHandler takes as long as it advances its clock.
type clockHandler struct {
	fakeHandler
	clock *clockwork.FakeClock
	took  time.Duration
}

func (h *clockHandler) Command(ctx context.Context, log zerolog.Logger, in Request, sc slack.SlashCommand) Reply {
	h.clock.Advance(h.took)
	return h.fakeHandler.Command(ctx, log, in, sc)
}

// TestSocketLogsDurationByClock: a Socket Mode request's log line says how long it took
// by the socket's clock.
func TestSocketLogsDurationByClock(t *testing.T) {
	var buf bytes.Buffer
	h := &clockHandler{clock: clockwork.NewFakeClock(), took: 750 * time.Millisecond}
	s := socket{log: zerolog.New(&buf), h: h, clock: h.clock}
	if _, err := s.command(context.Background(), slack.SlashCommand{Text: "help"}); err != nil {
		t.Fatal(err)
	}
	var line struct {
		What     string  `json:"what"`
		Duration float64 `json:"duration"`
	}
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil || line.What != "slash command" || line.Duration != 750 {
		t.Errorf("log %s (%v), want the slash command taking 750 (ms)", buf.String(), err)
	}
}
