package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// get fetches path from srv and returns the status and body.
func get(t *testing.T, srv *httptest.Server, path string) (int, []byte) {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// TestProfilerServesProfiles: the CPU profile and the named profiles come as gzipped
// protobuf that unpacks; the trace, index, command line and text profiles are there.
func TestProfilerServesProfiles(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(debugMux())
	defer srv.Close()
	gzipped := func(t *testing.T, body []byte) {
		if len(body) < 2 || body[0] != 0x1f || body[1] != 0x8b {
			t.Fatalf("body starts %q, want gzip's 0x1f 0x8b", body[:min(len(body), 8)])
		}
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if raw, err := io.ReadAll(zr); err != nil || len(raw) == 0 {
			t.Fatalf("gunzipped %d bytes, %v", len(raw), err)
		}
	}
	contains := func(want string) func(*testing.T, []byte) {
		return func(t *testing.T, body []byte) {
			if !strings.Contains(string(body), want) {
				t.Errorf("body %.200q lacks %q", body, want)
			}
		}
	}
	tests := []struct {
		path  string
		check func(*testing.T, []byte)
	}{
		{"/debug/pprof/profile?seconds=1", gzipped},
		{"/debug/pprof/heap", gzipped},
		{"/debug/pprof/heap?gc=1", gzipped},
		{"/debug/pprof/allocs", gzipped},
		{"/debug/pprof/goroutine", gzipped},
		{"/debug/pprof/block", gzipped},
		{"/debug/pprof/mutex", gzipped},
		{"/debug/pprof/threadcreate", gzipped},
		{"/debug/pprof/goroutine?debug=1", contains("goroutine profile:")},
		{"/debug/pprof/goroutine?debug=2", contains("goroutine ")},
		{"/debug/pprof/trace?seconds=1", contains("go 1.")},
		{"/debug/pprof/", contains(`href="heap?debug=1"`)},
		{"/debug/pprof/cmdline", contains("paylink")},
		{"/debug/pprof/symbol", contains("num_symbols: 1")},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			code, body := get(t, srv, tt.path)
			if code != http.StatusOK {
				t.Fatalf("status %d: %s", code, body)
			}
			tt.check(t, body)
		})
	}
}

// TestProfilerRefuses: what the profiler does not serve, or a capture out of bounds.
func TestProfilerRefuses(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(debugMux())
	defer srv.Close()
	tests := []struct {
		path string
		want int
	}{
		{"/debug/pprof/profile?seconds=0", http.StatusBadRequest},
		{"/debug/pprof/profile?seconds=-5", http.StatusBadRequest},
		{"/debug/pprof/profile?seconds=abc", http.StatusBadRequest},
		{fmt.Sprintf("/debug/pprof/profile?seconds=%d", maxCaptureSeconds+1), http.StatusBadRequest},
		{"/debug/pprof/trace?seconds=100000", http.StatusBadRequest},
		{"/debug/pprof/heap?seconds=5", http.StatusBadRequest},
		{"/debug/pprof/heap?debug=7", http.StatusBadRequest},
		{"/debug/pprof/nosuch", http.StatusNotFound},
		{"/healthz", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if code, body := get(t, srv, tt.path); code != tt.want {
				t.Errorf("status %d (%s), want %d", code, body, tt.want)
			}
		})
	}
}

// TestProfilerSymbol: a posted program counter is answered with its function's name.
func TestProfilerSymbol(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(debugMux())
	defer srv.Close()
	pc := reflect.ValueOf(profilerSymbol).Pointer()
	resp, err := srv.Client().Post(srv.URL+"/debug/pprof/symbol", "text/plain", strings.NewReader(fmt.Sprintf("%#x+0+junk", pc)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	want := fmt.Sprintf("num_symbols: 1\n%#x %s\n", pc, runtime.FuncForPC(pc).Name())
	if resp.StatusCode != http.StatusOK || string(body) != want {
		t.Errorf("status %d, body %q, want %q", resp.StatusCode, body, want)
	}
}

// TestNothingOnTheDefaultMux: the profiler registers nothing on http.DefaultServeMux,
// where any server built with a nil handler would expose it.
func TestNothingOnTheDefaultMux(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/profile", "/debug/pprof/heap"} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if _, pattern := http.DefaultServeMux.Handler(req); pattern != "" {
			t.Errorf("http.DefaultServeMux serves %s with the pattern %q", path, pattern)
		}
	}
}
