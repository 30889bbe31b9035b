package slackin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/paylink/paylink/bot/edge"
)

// socketAckTimeout bounds how long an acknowledgement may wait to be written: Slack
// gives up on it after 3 seconds, and while the connection is down it can't go out.
const socketAckTimeout = 3 * time.Second

// RunSocketMode receives slash commands, interactions and (when h is also an
// EventHandler) Events API events over Slack's Socket Mode WebSocket (api must carry
// the app-level token) and hands them to h, as HTTP does, until ctx ends. Each request is handled on its own goroutine and
// acknowledged with the handler's answer; every other envelope is acknowledged empty
// so Slack doesn't send it again. It returns once the requests under way are answered.
// Each request's log line says how long it took by clock (nil: the real clock).
func RunSocketMode(ctx context.Context, log zerolog.Logger, clock clockwork.Clock, api *slack.Client, h Handler) error {
	srv := socket{log: log, h: h, clock: clock}
	log = log.With().Str("component", "socketmode").Logger()
	client := socketmode.New(api)
	loopCtx, stopLoop := context.WithCancel(ctx)
	var loop, handlers sync.WaitGroup
	loop.Go(func() {
		for {
			select {
			case <-loopCtx.Done():
				return
			case evt := <-client.Events:
				handleSocketEvent(ctx, log, client, srv, &handlers, evt)
			}
		}
	})
	err := client.RunContext(ctx)
	stopLoop()
	loop.Wait()
	handlers.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func handleSocketEvent(ctx context.Context, log zerolog.Logger, client *socketmode.Client, srv socket, handlers *sync.WaitGroup, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		ev := zerolog.Dict()
		if e, ok := evt.Data.(*slack.ConnectingEvent); ok {
			ev.Int("attempt", e.Attempt).Int("connection", e.ConnectionCount+1)
		}
		log.Info().Dict("socket", ev).Msg("connecting to Slack")
		return
	case socketmode.EventTypeConnected:
		ev := zerolog.Dict()
		if e, ok := evt.Data.(*socketmode.ConnectedEvent); ok {
			ev.Int("connection", e.ConnectionCount+1)
		}
		log.Info().Dict("socket", ev).Msg("connected to Slack")
		return
	case socketmode.EventTypeHello:
		log.Debug().Msg("Slack said hello")
		return
	case socketmode.EventTypeConnectionError:
		if ctx.Err() != nil {
			return // shutting down
		}
		ev := log.Warn()
		if e, ok := evt.Data.(*slack.ConnectionErrorEvent); ok {
			ev = ev.Err(e.ErrorObj).Int("attempt", e.Attempt).Dur("retry_in", e.Backoff)
		}
		ev.Msg("could not connect to Slack's Socket Mode; retrying")
		return
	case socketmode.EventTypeInvalidAuth:
		log.Error().Msg("Slack refused SLACK_APP_TOKEN: check it is an app-level token with connections:write")
		return
	case socketmode.EventTypeIncomingError:
		if ctx.Err() != nil {
			return
		}
		// Also how a connection ends when Slack asks for a refresh (every few hours):
		// not a problem in itself; a reconnection that fails is logged as a warning.
		ev := log.Info()
		if e, ok := evt.Data.(*slack.IncomingEventError); ok {
			ev = ev.Err(e.ErrorObj)
		}
		ev.Msg("Socket Mode connection closed; reconnecting")
		return
	case socketmode.EventTypeDisconnect:
		log.Info().Msg("Slack asked to reconnect")
		return
	case socketmode.EventTypeErrorWriteFailed:
		ev := log.Error()
		if e, ok := evt.Data.(*socketmode.ErrorWriteFailed); ok {
			ev = ev.Err(e.Cause)
			if e.Response != nil {
				ev = ev.Str("envelope_id", e.Response.EnvelopeID)
			}
		}
		ev.Msg("could not write a Socket Mode acknowledgement")
		return
	case socketmode.EventTypeErrorBadMessage:
		// A message the client could not read: still acknowledge its envelope, if it
		// has one, so Slack doesn't send it again.
		e, ok := evt.Data.(*socketmode.ErrorBadMessage)
		if !ok {
			return
		}
		var env struct {
			EnvelopeID string `json:"envelope_id"`
			Type       string `json:"type"`
		}
		_ = json.Unmarshal(e.Message, &env)
		log.Warn().Err(e.Cause).Str("type", env.Type).Msg("unreadable Socket Mode message")
		if env.EnvelopeID != "" {
			ack(ctx, log, client, socketmode.Request{EnvelopeID: env.EnvelopeID, Type: env.Type}, nil, nil)
		}
		return
	}

	if evt.Request == nil || evt.Request.EnvelopeID == "" {
		return
	}
	req := *evt.Request
	var handle func() (json.RawMessage, error)
	switch evt.Type {
	case socketmode.EventTypeSlashCommand:
		if cmd, ok := evt.Data.(slack.SlashCommand); ok {
			handle = func() (json.RawMessage, error) { return srv.command(ctx, cmd) }
		}
	case socketmode.EventTypeInteractive:
		// The raw payload, exactly as Slack would have posted it over HTTP.
		handle = func() (json.RawMessage, error) { return srv.interaction(ctx, req.Payload) }
	case socketmode.EventTypeEventsAPI:
		// The envelope, exactly as Slack would have posted it to /slack/events.
		if eh, ok := srv.h.(EventHandler); ok {
			handle = func() (json.RawMessage, error) { return srv.event(ctx, eh, req.Payload) }
		}
	}
	if handle == nil {
		ack(ctx, log, client, req, nil, nil) // events we don't use: acknowledge only
		return
	}
	handlers.Go(func() {
		payload, err := handle()
		ack(ctx, log, client, req, payload, err)
	})
}

// ack acknowledges a Socket Mode request, with the handler's answer when it has one.
func ack(ctx context.Context, log zerolog.Logger, client *socketmode.Client, req socketmode.Request, payload json.RawMessage, err error) {
	if err != nil {
		log.Warn().Err(err).Str("type", req.Type).Str("envelope_id", req.EnvelopeID).Msg("Socket Mode request refused")
		payload = nil
	}
	actx, cancel := context.WithTimeout(ctx, socketAckTimeout)
	defer cancel()
	var body any // nil: an empty acknowledgement
	if payload != nil {
		body = payload
	}
	if err := client.AckCtx(actx, req.EnvelopeID, body); err != nil && ctx.Err() == nil {
		log.Error().Err(err).Str("type", req.Type).Str("envelope_id", req.EnvelopeID).Msg("could not acknowledge a Socket Mode request")
	}
}

// socket hands requests that came over Socket Mode to h. Each gets a request id and a
// logger carrying it, as an HTTP request does; a panic is logged and the request
// refused.
type socket struct {
	log   zerolog.Logger
	h     Handler
	clock clockwork.Clock // nil: the real clock
}

// command handles a slash command and returns the payload to acknowledge it with (nil
// for none).
func (s socket) command(ctx context.Context, sc slack.SlashCommand) (json.RawMessage, error) {
	return s.serve(ctx, "slash command", func(ctx context.Context, log zerolog.Logger, in Request) (json.RawMessage, error) {
		r := s.h.Command(ctx, log, in, sc)
		if r.Unauthorized {
			return nil, errors.New("slash command refused: request already seen")
		}
		return commandBody(r), nil
	})
}

// interaction handles an interaction payload (the JSON Slack would have posted as the
// payload field) and returns the payload to acknowledge it with (nil for none).
func (s socket) interaction(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
	return s.serve(ctx, "interaction", func(ctx context.Context, log zerolog.Logger, in Request) (json.RawMessage, error) {
		cb, err := decodePayload(payload)
		if err != nil {
			log.Warn().Err(err).Msg("interaction rejected: malformed payload")
			return nil, fmt.Errorf("malformed payload: %w", err)
		}
		r := s.h.Interaction(ctx, log, in, cb)
		switch {
		case r.Unauthorized:
			return nil, errors.New("interaction refused: request already seen")
		case r.Invalid != "":
			return nil, errors.New("interaction refused: " + r.Invalid)
		}
		return interactionBody(r), nil
	})
}

// event hands an Events API envelope to h; it is acknowledged empty.
func (s socket) event(ctx context.Context, h EventHandler, payload json.RawMessage) (json.RawMessage, error) {
	return s.serve(ctx, "event", func(ctx context.Context, log zerolog.Logger, in Request) (json.RawMessage, error) {
		env, err := ParseEvent(payload)
		if err != nil {
			log.Warn().Err(err).Msg("event rejected")
			return nil, err
		}
		if env.Type == EnvelopeEventCallback {
			h.Event(ctx, log.With().Str("event", env.Event.Type).Str("team", env.Event.Team).Logger(), env.Event)
		}
		return nil, nil
	})
}

// serve runs handle with a new request id and its logger, turning a panic into an error.
func (s socket) serve(ctx context.Context, what string, handle func(context.Context, zerolog.Logger, Request) (json.RawMessage, error)) (payload json.RawMessage, err error) {
	id := edge.NewRequestID()
	log := s.log.With().Str("request_id", id).Logger()
	ctx = log.WithContext(ctx)
	clock := s.clock
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	start := clock.Now()
	defer func() {
		if p := recover(); p != nil {
			log.Error().Str("panic", edge.Truncate(edge.PanicText(p), 500)).Bytes("stack", debug.Stack()).
				Str("over", "socket mode").Msg("handler panicked")
			payload, err = nil, errors.New(what+": internal error")
			return
		}
		log.Debug().Str("over", "socket mode").Str("what", what).Dur("duration", clock.Since(start)).Msg("request")
	}()
	return handle(ctx, log, Request{ID: id})
}
