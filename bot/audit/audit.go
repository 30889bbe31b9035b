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
	Save(ctx, log, st, e)
}

// Save writes an audit event, already logged, to the audit stream within 3 seconds; a
// failure is logged.
func Save(ctx context.Context, log zerolog.Logger, st Store, e store.AuditEvent) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	if err := st.Audit(actx, e); err != nil {
		log.Warn().Err(err).Msg("could not write the audit event to Redis")
	}
}

// Log writes an audit event to the log, as one object under "audit": the record is
// whole on its own, and its names never clash with the request's own fields (team,
// channel, user) that the log line already carries.
func Log(log zerolog.Logger, e store.AuditEvent) {
	ev := log.Info()
	if !ev.Enabled() {
		return
	}
	d := zerolog.Dict().Str("event", e.Event).Str("team", e.Team).Str("channel", e.Channel).Str("user", e.User)
	if e.Currency != "" {
		d = d.Int64("amount", e.Amount).Str("currency", e.Currency)
	}
	for _, f := range [][2]string{{"reference", e.Reference}, {"intent", e.Intent}, {"detail", e.Detail}} {
		if f[1] != "" {
			d = d.Str(f[0], f[1])
		}
	}
	ev.Dict("audit", d).Msg("audit")
}
