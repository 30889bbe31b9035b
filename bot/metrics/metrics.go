// Package metrics holds paylink's Prometheus metrics.
package metrics

import (
	"context"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/paylink/paylink/bot/edge"
	"github.com/paylink/paylink/bot/slackout"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are paylink's Prometheus metrics. A nil *Metrics records nothing.
type Metrics struct {
	reg           *prometheus.Registry
	commands      *prometheus.CounterVec
	dojoRequests  *prometheus.CounterVec
	dojoDuration  *prometheus.HistogramVec
	webhooks      *prometheus.CounterVec
	notifications *prometheus.CounterVec
	backlog       *prometheus.GaugeVec
	slackErrors   *prometheus.CounterVec
	httpRequests  *prometheus.CounterVec
	httpDuration  *prometheus.HistogramVec
	build         *prometheus.GaugeVec
	goVersion     string
	clock         clockwork.Clock
}

// New registers paylink's metrics, the Go runtime's and the process's on a new
// registry. Durations are measured by clock (nil: the real clock).
func New(clock clockwork.Clock) *Metrics {
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg:   reg,
		clock: clock,
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paylink_commands_total", Help: "Slash commands and form submissions, by outcome.",
		}, []string{"outcome"}),
		dojoRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paylink_dojo_requests_total", Help: "Dojo API calls, by operation and HTTP status (or error, timeout).",
		}, []string{"operation", "status"}),
		dojoDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "paylink_dojo_request_duration_seconds", Help: "Dojo API call latency, by operation.",
			Buckets: []float64{.025, .05, .1, .25, .5, 1, 1.5, 2.5, 5, 10, 15},
		}, []string{"operation"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paylink_webhooks_total", Help: "Dojo webhooks received, by outcome.",
		}, []string{"outcome"}),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paylink_notifications_total", Help: "Status notices handled, by result: delivered, retried, dead_lettered, dropped.",
		}, []string{"result"}),
		backlog: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "paylink_notification_backlog", Help: "Notices not yet delivered: pending in the stream, scheduled for retry, dead-lettered.",
		}, []string{"state"}),
		slackErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paylink_slack_api_errors_total", Help: "Slack Web API calls that failed, by method and error code.",
		}, []string{"method", "code"}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paylink_http_requests_total", Help: "HTTP requests served, by route and status code.",
		}, []string{"route", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "paylink_http_request_duration_seconds", Help: "HTTP request latency, by route.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2, 3, 5},
		}, []string{"route"}),
	}
	version, goVersion := "unknown", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				version += "+" + s.Value[:12]
			}
		}
	}
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "paylink_build_info", Help: "Build information; the value is always 1.",
	}, []string{"version", "goversion"})
	build.WithLabelValues(version, goVersion).Set(1)
	m.build, m.goVersion = build, goVersion
	reg.MustRegister(m.commands, m.dojoRequests, m.dojoDuration, m.webhooks, m.notifications, m.backlog,
		m.slackErrors, m.httpRequests, m.httpDuration, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// SetVersion sets the version paylink_build_info reports, for a version set at build
// time or worked out better than the build info's own.
func (m *Metrics) SetVersion(version string) {
	m.build.Reset()
	m.build.WithLabelValues(version, m.goVersion).Set(1)
}

// WatchAdmission exports the limit of commands under way and how many are, as state
// reports them.
func (m *Metrics) WatchAdmission(state func() (limit, inflight int)) {
	if m == nil {
		return
	}
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "paylink_commands_limit", Help: "Commands whose work may be under way at once (PAYLINK_MAX_IN_FLIGHT).",
		}, func() float64 { limit, _ := state(); return float64(limit) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "paylink_commands_in_flight", Help: "Commands whose work is under way.",
		}, func() float64 { _, n := state(); return float64(n) }),
	)
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Command counts a command by its outcome.
func (m *Metrics) Command(outcome string) {
	if m != nil {
		m.commands.WithLabelValues(outcome).Inc()
	}
}

// Webhook counts a webhook by its outcome.
func (m *Metrics) Webhook(outcome string) {
	if m != nil {
		m.webhooks.WithLabelValues(outcome).Inc()
	}
}

// Notification counts a notice handled, by its result.
func (m *Metrics) Notification(result string) {
	if m != nil {
		m.notifications.WithLabelValues(result).Inc()
	}
}

// SlackError counts a failed Slack Web API call (nothing for a nil err).
func (m *Metrics) SlackError(method string, err error) {
	if m != nil && err != nil {
		m.slackErrors.WithLabelValues(method, slackout.ErrorCode(err)).Inc()
	}
}

// SetBacklog sets the notices not yet delivered.
func (m *Metrics) SetBacklog(pending, scheduled, dead int64) {
	if m != nil {
		m.backlog.WithLabelValues("pending").Set(float64(pending))
		m.backlog.WithLabelValues("scheduled").Set(float64(scheduled))
		m.backlog.WithLabelValues("dead").Set(float64(dead))
	}
}

// HTTPRequest counts one.
func (m *Metrics) HTTPRequest(route string, code int, took time.Duration) {
	if m != nil {
		m.httpRequests.WithLabelValues(route, strconv.Itoa(code)).Inc()
		m.httpDuration.WithLabelValues(route).Observe(took.Seconds())
	}
}

// Instrument counts and times the requests next serves, by route pattern.
func (m *Metrics) Instrument(next http.Handler) http.Handler {
	if m == nil {
		return next
	}
	return edge.Instrument(m.clock, m.HTTPRequest, next)
}

// DojoTransport wraps an HTTP transport to count and time Dojo API calls.
func (m *Metrics) DojoTransport(next http.RoundTripper) http.RoundTripper {
	if m == nil {
		return next
	}
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		op := dojoOperation(r.Method, r.URL.Path)
		start := m.clock.Now()
		resp, err := next.RoundTrip(r)
		m.dojoDuration.WithLabelValues(op).Observe(m.clock.Since(start).Seconds())
		status := "error"
		switch {
		case err == nil:
			status = strconv.Itoa(resp.StatusCode)
		case r.Context().Err() == context.DeadlineExceeded:
			status = "timeout"
		}
		m.dojoRequests.WithLabelValues(op, status).Inc()
		return resp, err
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// dojoOperation names a Dojo API call for metrics, without ids.
func dojoOperation(method, path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	n := len(parts)
	switch {
	case n >= 1 && parts[n-1] == "search":
		return "search"
	case n >= 1 && parts[n-1] == "refunds":
		return "refund"
	case n >= 1 && parts[n-1] == "reversal":
		return "reverse"
	case n >= 1 && parts[0] == "webhooks":
		return "webhooks"
	case method == http.MethodPost && n >= 1 && parts[n-1] == "payment-intents":
		return "create"
	case method == http.MethodGet:
		return "get"
	case method == http.MethodDelete:
		return "cancel"
	}
	return "other"
}
