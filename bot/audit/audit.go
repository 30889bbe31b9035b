// Package audit writes the audit trail: every link created, canceled, paid, refunded,
// reversed or expired, and every refusal, to the log and to Redis.
package audit

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/paylink/paylink/store"
)

// Store keeps audit events. *store.Store satisfies it.
type Store interface {
	Audit(ctx context.Context, e store.AuditEvent) error
}

// Write writes an audit event to the log and, within 3 seconds, to the audit stream;
// a failure to write it to Redis is logged.
func Write(ctx context.Context, log zerolog.Logger, st Store, e store.AuditEvent) {
	Log(log, e)
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	if err := st.Audit(actx, e); err != nil {
		log.Warn().Err(err).Msg("could not write the audit event to Redis")
	}
}

// Log writes an audit event to the log.
func Log(log zerolog.Logger, e store.AuditEvent) {
	log.Info().Bool("audit", true).Str("event", e.Event).Str("team", e.Team).Str("channel", e.Channel).
		Str("user", e.User).Int64("amount", e.Amount).Str("currency", e.Currency).Str("reference", e.Reference).
		Str("intent", e.Intent).Str("detail", e.Detail).Msg("audit")
}
