package bot

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// RunSocketMode receives slash commands and interactions over Slack's Socket Mode
// WebSocket (api must carry the app-level token) and answers them through the same
// handlers as HTTP, until ctx ends. Each request is handled on its own goroutine and
// acknowledged with the handler's answer.
func RunSocketMode(ctx context.Context, log zerolog.Logger, api *slack.Client, srv *Server) error {
	log = log.With().Str("component", "socketmode").Logger()
	client := socketmode.New(api)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case evt := <-client.Events:
				handleSocketEvent(ctx, log, client, srv, evt)
			}
		}
	}()
	return client.RunContext(ctx)
}

func handleSocketEvent(ctx context.Context, log zerolog.Logger, client *socketmode.Client, srv *Server, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		log.Info().Msg("connecting to Slack")
	case socketmode.EventTypeConnected:
		log.Info().Msg("connected to Slack")
	case socketmode.EventTypeConnectionError, socketmode.EventTypeInvalidAuth, socketmode.EventTypeIncomingError:
		log.Error().Str("event", string(evt.Type)).Str("detail", truncate(fmt.Sprint(evt.Data), 300)).Msg("Socket Mode connection problem")
	case socketmode.EventTypeDisconnect:
		log.Warn().Msg("Slack asked to reconnect")
	case socketmode.EventTypeSlashCommand:
		cmd, ok := evt.Data.(slack.SlashCommand)
		if !ok || evt.Request == nil {
			return
		}
		req := *evt.Request
		go func() {
			payload, err := srv.SocketCommand(ctx, cmd)
			ack(log, client, req, payload, err)
		}()
	case socketmode.EventTypeInteractive:
		if evt.Request == nil {
			return
		}
		req := *evt.Request
		go func() {
			payload, err := srv.SocketInteraction(ctx, req.Payload)
			ack(log, client, req, payload, err)
		}()
	default:
		if evt.Request != nil && evt.Request.EnvelopeID != "" {
			ack(log, client, *evt.Request, nil, nil)
		}
	}
}

// ack acknowledges a Socket Mode request, with the handler's answer when it has one.
func ack(log zerolog.Logger, client *socketmode.Client, req socketmode.Request, payload json.RawMessage, err error) {
	if err != nil {
		log.Warn().Err(err).Str("type", req.Type).Msg("Socket Mode request refused")
		payload = nil
	}
	if payload != nil {
		err = client.Ack(req, payload)
	} else {
		err = client.Ack(req)
	}
	if err != nil {
		log.Error().Err(err).Msg("could not acknowledge a Socket Mode request")
	}
}
