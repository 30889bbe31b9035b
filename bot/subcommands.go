package bot

import (
	"context"
	"errors"

	"github.com/rs/zerolog"

	"github.com/paylink/paylink/bot/edge"
	"github.com/paylink/paylink/bot/flow"
	"github.com/paylink/paylink/bot/slackin"
	"github.com/paylink/paylink/store"
)

// subcommand answers /paylink list at once, and status and cancel, which ask Dojo,
// from the background.
func (l *linker) subcommand(ctx context.Context, log zerolog.Logger, from flow.Origin, cmd slackin.Command) slackin.Reply {
	if cmd.Kind == slackin.CommandList {
		l.m.Command("list")
		links, err := l.flow.List(ctx, from)
		if err != nil {
			log.Error().Err(err).Msg("list: store")
			return slackin.Reply{Text: msgDatabaseDown}
		}
		return slackin.Reply{Text: listText(links, l.cfg.CheckoutURL)}
	}
	l.m.Command(map[slackin.CommandKind]string{slackin.CommandStatus: "status", slackin.CommandCancel: "cancel"}[cmd.Kind])
	rep, _ := l.run(log, from.ResponseURL, func(ctx context.Context, h *handoff) {
		text := l.lookUp(ctx, log, from, cmd)
		if !h.deliver(slackin.Reply{Text: text}) {
			l.respond(ctx, log, from.ResponseURL, slackin.Reply{Text: text})
		}
	}, msgAskingDojo)
	return rep
}

// lookUp answers /paylink status and /paylink cancel.
func (l *linker) lookUp(ctx context.Context, log zerolog.Logger, from flow.Origin, cmd slackin.Command) string {
	rec, err := l.flow.Find(ctx, from, cmd.Target, cmd.Kind == slackin.CommandCancel)
	if errors.Is(err, store.ErrNotFound) {
		return notFoundText(cmd.Target)
	}
	if err != nil {
		log.Error().Err(err).Msg("subcommand: store")
		return msgDatabaseDown
	}
	if cmd.Kind == slackin.CommandCancel {
		return cancelText(l.flow.Cancel(ctx, log, rec, from.User), l.cfg.CheckoutURL)
	}
	if msg := l.flow.LookUp(ctx, log, from, edge.NewRequestID()); msg != "" {
		return msg
	}
	return statusText(l.flow.Refresh(ctx, log, rec), l.cfg.CheckoutURL)
}
