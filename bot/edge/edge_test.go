package edge

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"
)

// TestPanicIsRecovered: a handler that panics is answered 500, logged with its request
// id, and the server goes on.
func TestPanicIsRecovered(t *testing.T) {
	var buf bytes.Buffer
	h := WithRequestLog(zerolog.New(&buf), nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/boom" {
			panic("something broke")
		}
		w.Write([]byte("ok"))
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/boom", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", rec.Code)
	}
	if !strings.Contains(buf.String(), "handler panicked") || !strings.Contains(buf.String(), "something broke") || !strings.Contains(buf.String(), "request_id") {
		t.Errorf("log %s", buf.String())
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/fine", nil))
	if rec.Code != http.StatusOK || rec.Header().Get(RequestIDHeader) == "" {
		t.Errorf("after a panic: %d, request id %q", rec.Code, rec.Header().Get(RequestIDHeader))
	}
}

// TestRequestIDFromCaller: a plausible id from the caller is kept, anything else is
// replaced with a new one.
func TestRequestIDFromCaller(t *testing.T) {
	tests := []struct {
		name, id string
		kept     bool
	}{
		{"proxy trace id", "4bf92f3577b34da6a3ce929d0e0e4736", true},
		{"8 characters", "abcd-_12", true},
		{"64 characters", strings.Repeat("a", 64), true},
		{"7 characters", "abcdefg", false},
		{"65 characters", strings.Repeat("a", 65), false},
		{"space", "abcd efgh", false},
		{"log injection", "abcdefgh\n{\"level\":\"error\"}", false},
		{"non-ASCII", "abcdéfgh", false},
		{"none", "", false},
	}
	h := WithRequestLog(zerolog.Nop(), nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header.Set(RequestIDHeader, tt.id)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			got := rec.Header().Get(RequestIDHeader)
			if (got == tt.id) != tt.kept || !validRequestID(got) {
				t.Errorf("sent %q, answered %q; want it kept: %v", tt.id, got, tt.kept)
			}
		})
	}
}

func TestTruncateMarksNothing(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"a longer text", 8, "a longer"},
		{"naïve", 3, "na"},
	}
	for _, tt := range tests {
		if got := Truncate(tt.s, tt.n); got != tt.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

// TestDurationsByTheClock: the request log and the per-route record time a request by
// the clock they are given.
func TestDurationsByTheClock(t *testing.T) {
	clock := clockwork.NewFakeClock()
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		clock.Advance(1500 * time.Millisecond)
		w.WriteHeader(http.StatusAccepted)
	})
	type record struct {
		route string
		code  int
		took  time.Duration
	}
	var got []record
	mux := http.NewServeMux()
	mux.Handle("POST /slow/{id}", slow)
	var buf bytes.Buffer
	h := WithRequestLog(zerolog.New(&buf).Level(zerolog.DebugLevel), clock,
		Instrument(clock, func(route string, code int, took time.Duration) { got = append(got, record{route, code, took}) }, mux))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/slow/1", nil))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/nowhere", nil))
	want := []record{{"POST /slow/{id}", http.StatusAccepted, 1500 * time.Millisecond}, {"other", http.StatusNotFound, 0}}
	if !slices.Equal(got, want) {
		t.Errorf("recorded %+v, want %+v", got, want)
	}
	var line struct {
		Status   int     `json:"status"`
		Duration float64 `json:"duration"`
	}
	first, _, _ := strings.Cut(buf.String(), "\n")
	if err := json.Unmarshal([]byte(first), &line); err != nil || line.Status != http.StatusAccepted || line.Duration != 1500 {
		t.Errorf("request log %s (%v), want status 202 and duration 1500 (ms)", first, err)
	}
}
