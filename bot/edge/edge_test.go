package edge

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// TestPanicIsRecovered: a handler that panics is answered 500, logged with its request
// id, and the server goes on.
func TestPanicIsRecovered(t *testing.T) {
	var buf bytes.Buffer
	h := WithRequestLog(zerolog.New(&buf), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
