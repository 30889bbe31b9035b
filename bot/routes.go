package bot

import (
	"context"
	"net/http"
	"time"

	"github.com/paylink/paylink/bot/payments"
	"github.com/paylink/paylink/bot/slackin"
	"github.com/rs/zerolog"
)

// addRoutes lists every route paylink serves.
func addRoutes(mux *http.ServeMux, d Deps, l slackHandler) {
	mux.Handle("POST "+PathCommands, slackin.Commands(d.Verifier, l))
	mux.Handle("POST "+PathInteractions, slackin.Interactions(d.Verifier, l))
	mux.Handle("POST "+PathEvents, slackin.Events(d.Verifier, l))
	mux.Handle("POST "+PathDojoWebhooks, payments.NewWebhookHandler(d.payments()))
	mux.Handle("GET "+PathHealthz, handleHealthz())
	mux.Handle("GET "+PathMetrics, d.Metrics.Handler())
	mux.Handle("GET "+PathReadyz, handleReadyz(d.Store))
}

// handleHealthz answers 200 while the process can serve HTTP at all.
func handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
}

// readiness is a write probe of Redis. *store.Store satisfies it.
type readiness interface {
	Ready(ctx context.Context) error
}

// handleReadyz answers 200 when Redis takes a write within a second, else 503: a
// replica that can't record links or payments should get no traffic. The write goes to
// the node that holds the {events} slot (the Sentinel master), so a master that was
// demoted, or a Cluster slot whose master died, reads as not ready.
func handleReadyz(st readiness) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := st.Ready(ctx); err != nil {
			zerolog.Ctx(r.Context()).Warn().Err(err).Msg("not ready: redis does not take writes")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("redis unavailable\n"))
			return
		}
		w.Write([]byte("ok\n"))
	})
}
