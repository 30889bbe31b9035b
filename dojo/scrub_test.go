package dojo_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/paylink/paylink/dojo"
)

// leakedPart returns the first run of 8 characters of key found in s, or "".
func leakedPart(key, s string) string {
	for i := 0; i+8 <= len(key); i++ {
		if strings.Contains(s, key[i:i+8]) {
			return key[i : i+8]
		}
	}
	return ""
}

// TestDojoTextNeverCarriesTheKey: whatever Dojo echoes back, in any field of a problem
// answer, in a header or in a plain-text body of any length, no 8 consecutive
// characters of the API key reach the error's text or its message for the agent.
func TestDojoTextNeverCarriesTheKey(t *testing.T) {
	const key = testKey // sk_sandbox_client_test_key_123
	pad := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name   string
		status int
		header http.Header
		body   string
		want   string // still shown, so the scrub did not swallow everything
	}{
		{name: "traceId", status: 400, body: `{"title":"Bad request","status":400,"traceId":"00-` + key + `-01"}`, want: "Bad request"},
		{name: "field error name", status: 400, body: `{"title":"Invalid","status":400,"errors":{"` + key + `":["is not valid"]}}`, want: "is not valid"},
		{name: "field error message", status: 400, body: `{"title":"Invalid","status":400,"errors":{"Reference":["` + key + ` is not valid"]}}`, want: "is not valid"},
		{name: "type and instance", status: 404, body: `{"type":"https://dojo.example/` + key + `","title":"Missing","status":404,"instance":"/x/` + key + `"}`, want: "Missing"},
		{name: "traceparent header", status: 400, header: http.Header{"Traceparent": {"00-" + key + "-01"}}, body: `{"title":"Bad request","status":400}`, want: "Bad request"},
		{name: "part of the key", status: 400, body: `{"title":"Bad key ` + key[:15] + `…","status":400}`, want: "Bad key"},
		{name: "plain text, key at the start", status: 502, body: key + " " + pad(400), want: "HTTP 502"},
		{name: "plain text, key across the cut", status: 502, body: pad(290) + key + pad(100), want: "xxxx"},
		{name: "plain text, key just past the cut", status: 502, body: pad(299) + key, want: "xxxx"},
		{name: "plain text, key after the cut", status: 502, body: pad(320) + key, want: "xxxx"},
		{name: "plain text, a character across the cut", status: 502, body: "x" + strings.Repeat("é", 150) + key, want: "é"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header()[k] = v
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			t.Cleanup(srv.Close)
			c := dojo.NewClient(dojo.Config{BaseURL: srv.URL, APIKey: key, Timeout: time.Second, Retries: -1})
			_, err := c.PaymentIntent(context.Background(), "pi_x")
			var de *dojo.Error
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *dojo.Error", err)
			}
			shown := de.Error() + "\n" + de.Message() + "\n" + fmt.Sprintf("%+v", *de)
			if part := leakedPart(key, shown); part != "" {
				t.Errorf("%q of the key survived in:\n%s", part, shown)
			}
			if !strings.Contains(de.Message(), tt.want) {
				t.Errorf("Message() = %q, want it to still say %q", de.Message(), tt.want)
			}
			if len(de.Detail) > 300+len("…") || !utf8.ValidString(de.Detail) {
				t.Errorf("detail is %d bytes (valid UTF-8: %v), want at most 300 and an ellipsis", len(de.Detail), utf8.ValidString(de.Detail))
			}
		})
	}
}
