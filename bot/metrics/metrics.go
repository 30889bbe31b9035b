// Package metrics holds paylink's Prometheus metrics.
package metrics

import (
	"context"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
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

	// The children the hot paths count into, by their label values.
	commandsBy      *children[string, prometheus.Counter]
	webhooksBy      *children[string, prometheus.Counter]
	notificationsBy *children[string, prometheus.Counter]
	httpRequestsBy  *children[routeCode, prometheus.Counter]
	httpDurationBy  *children[string, prometheus.Observer]
	dojoRequestsBy  *children[routeCode, prometheus.Counter] // operation and status
}

// children keeps the children of a metric vector by their label values, so counting
// into one seen before is a map read: the vector itself hashes the values and takes
// its lock on every WithLabelValues.
type children[K comparable, M any] struct {
	mu   sync.RWMutex
	kids map[K]M
	bind func(K) M
}

func newChildren[K comparable, M any](bind func(K) M) *children[K, M] {
	return &children[K, M]{kids: map[K]M{}, bind: bind}
}

func (c *children[K, M]) of(k K) M {
	c.mu.RLock()
	m, ok := c.kids[k]
	c.mu.RUnlock()
	if ok {
		return m
	}
	m = c.bind(k)
	c.mu.Lock()
	c.kids[k] = m
	c.mu.Unlock()
	return m
}

// routeCode names a child by a route (or a Dojo operation) and a status code.
type routeCode struct {
	route string
	code  int
}

// Status labels of a Dojo call that got no answer.
const (
	codeError   = -1
	codeTimeout = -2
)

func statusLabel(code int) string {
	switch code {
	case codeError:
		return "error"
	case codeTimeout:
		return "timeout"
	}
	return strconv.Itoa(code)
}

// counters returns the children of a one-label counter vector.
func counters(v *prometheus.CounterVec) *children[string, prometheus.Counter] {
	return newChildren(func(l string) prometheus.Counter { return v.WithLabelValues(l) })
}

// observers returns the children of a one-label histogram vector.
func observers(v *prometheus.HistogramVec) *children[string, prometheus.Observer] {
	return newChildren(func(l string) prometheus.Observer { return v.WithLabelValues(l) })
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
	m.commandsBy, m.webhooksBy, m.notificationsBy = counters(m.commands), counters(m.webhooks), counters(m.notifications)
	m.httpDurationBy = observers(m.httpDuration)
	m.httpRequestsBy = newChildren(func(k routeCode) prometheus.Counter {
		return m.httpRequests.WithLabelValues(k.route, strconv.Itoa(k.code))
	})
	m.dojoRequestsBy = newChildren(func(k routeCode) prometheus.Counter {
		return m.dojoRequests.WithLabelValues(k.route, statusLabel(k.code))
	})
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
		m.commandsBy.of(outcome).Inc()
	}
}

// Webhook counts a webhook by its outcome.
func (m *Metrics) Webhook(outcome string) {
	if m != nil {
		m.webhooksBy.of(outcome).Inc()
	}
}

// Notification counts a notice handled, by its result.
func (m *Metrics) Notification(result string) {
	if m != nil {
		m.notificationsBy.of(result).Inc()
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
		m.httpRequestsBy.of(routeCode{route, code}).Inc()
		m.httpDurationBy.of(route).Observe(took.Seconds())
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
		code := codeError
		switch {
		case err == nil:
			code = resp.StatusCode
		case r.Context().Err() == context.DeadlineExceeded:
			code = codeTimeout
		}
		m.dojoRequestsBy.of(routeCode{op, code}).Inc()
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
