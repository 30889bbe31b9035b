package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestCounts: what the hot paths count shows in the exposition, by its labels.
func TestCounts(t *testing.T) {
	m := New()
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
	m := New()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.HTTPRequest("POST /slack/commands", 200, time.Millisecond)
			m.Command("created")
		}
	})
}
