package bot

import (
	"context"
	"time"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"github.com/paylink/paylink/bot/audit"
	"github.com/paylink/paylink/store"
)

// Replayed reports whether a request's signature was seen before. Redis being down
// lets the request through (logged): everything it could do is idempotent.
func (l *linker) Replayed(ctx context.Context, log zerolog.Logger, sig string) bool {
	if sig == "" {
		return false
	}
	seen, err := l.store.SeenSignature(ctx, sig)
	if err != nil {
		log.Warn().Err(err).Msg("could not check for a replayed request")
		return false
	}
	if seen {
		log.Warn().Str("outcome", "replayed").Msg("request signature seen before: refused")
	}
	return seen
}

// refused logs and audits a refused command.
func (l *linker) refused(log zerolog.Logger, sc slack.SlashCommand, cmd Command, why string) {
	log.Info().Str("outcome", "rejected").Str("problem", why).Msg("slash command")
	l.tasks.Go(5*time.Second, func(ctx context.Context) {
		l.audit(ctx, log, store.AuditEvent{Event: "refused", Team: sc.TeamID, Channel: sc.ChannelID, User: sc.UserID,
			Amount: cmd.Amount.Value, Currency: cmd.Amount.CurrencyCode, Reference: cmd.Reference, Detail: why})
	})
}

// audit writes an audit event to the log and the audit stream.
func (l *linker) audit(ctx context.Context, log zerolog.Logger, e store.AuditEvent) {
	audit.Write(ctx, log, l.store, e)
}
