package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestHTTPClientTimeout: outbound calls end at their timeout whether the server is slow
// to answer or slow to send the body.
func TestHTTPClientTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow-headers":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case "/slow-body":
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
		default:
			io.WriteString(w, "ok")
		}
	}))
	defer srv.Close()
	defer close(release)
	c := newHTTPClient(200 * time.Millisecond)

	tests := []struct {
		path        string
		wantErr     bool // the request itself fails
		wantBodyErr bool // reading the body fails
	}{
		{"/fast", false, false},
		{"/slow-headers", true, false},
		{"/slow-body", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			start := time.Now()
			resp, err := c.Get(srv.URL + tt.path)
			if tt.wantErr {
				if err == nil {
					resp.Body.Close()
					t.Fatal("no error from a server that never answers")
				}
				var te interface{ Timeout() bool }
				if !errors.As(err, &te) || !te.Timeout() {
					t.Errorf("error %v is not a timeout", err)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				_, rerr := io.ReadAll(resp.Body)
				resp.Body.Close()
				if tt.wantBodyErr && rerr == nil {
					t.Error("reading a body that never ends did not fail")
				}
				if !tt.wantBodyErr && rerr != nil {
					t.Error(rerr)
				}
			}
			t.Logf("%v with a 200ms timeout", time.Since(start))
		})
	}

	// A caller's own deadline, earlier than the client's, bounds the body too.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/slow-body", nil)
	resp, err := newHTTPClient(time.Minute).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Error("reading a body that never ends, past the caller's deadline, did not fail")
	}
}
