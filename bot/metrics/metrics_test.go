package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// histogramSum returns the sum and count of the histogram name's series with label
// value label.
func histogramSum(t *testing.T, m *Metrics, name, label string) (float64, uint64) {
	t.Helper()
	families, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetValue() == label {
					return s.GetHistogram().GetSampleSum(), s.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	t.Fatalf("no %s{%s}", name, label)
	return 0, 0
}

// TestDurationsByTheClock: Dojo calls and HTTP requests are timed by the clock the
// metrics were made with.
func TestDurationsByTheClock(t *testing.T) {
	clock := clockwork.NewFakeClock()
	m := New(clock)

	dojo := m.DojoTransport(roundTripFunc(func(r *http.Request) (*http.Response, error) {
		clock.Advance(2 * time.Second)
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: r}, nil
	}))
	req := httptest.NewRequest(http.MethodGet, "https://api.dojo.tech/payment-intents/pi_1", nil)
	if _, err := dojo.RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	if sum, n := histogramSum(t, m, "paylink_dojo_request_duration_seconds", "get"); sum != 2 || n != 1 {
		t.Errorf("Dojo get timed %v s over %d calls, want 2 s over 1", sum, n)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { clock.Advance(250 * time.Millisecond) })
	m.Instrument(mux).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if sum, n := histogramSum(t, m, "paylink_http_request_duration_seconds", "GET /healthz"); sum != 0.25 || n != 1 {
		t.Errorf("GET /healthz timed %v s over %d requests, want 0.25 s over 1", sum, n)
	}
}

// TestCounts: what the hot paths count shows in the exposition, by its labels.
func TestCounts(t *testing.T) {
	m := New(nil)
	for range 2 {
		m.Command("created")
		m.HTTPRequest("POST /slack/commands", 200, time.Millisecond)
	}
	m.Webhook("queued")
	m.Notification("delivered")
	rt := m.DojoTransport(roundTripFunc(func(*http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 201, Body: http.NoBody}, nil
	}))
	req := httptest.NewRequest(http.MethodPost, "http://dojo/payment-intents", nil)
	if _, err := rt.RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, want := range []string{
		`paylink_commands_total{outcome="created"} 2`,
		`paylink_http_requests_total{code="200",route="POST /slack/commands"} 2`,
		`paylink_http_request_duration_seconds_count{route="POST /slack/commands"} 2`,
		`paylink_webhooks_total{outcome="queued"} 1`,
		`paylink_notifications_total{result="delivered"} 1`,
		`paylink_dojo_requests_total{operation="create",status="201"} 1`,
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("no %s in the metrics", want)
		}
	}
}

// BenchmarkRequestMetrics is what a slash command counts: its HTTP request and its
// outcome.
func BenchmarkRequestMetrics(b *testing.B) {
	m := New(nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.HTTPRequest("POST /slack/commands", 200, time.Millisecond)
			m.Command("created")
		}
	})
}
