package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestDebugMuxServesProfiler: the profiler is on the debug listener's own mux.
func TestDebugMuxServesProfiler(t *testing.T) {
	srv := httptest.NewServer(debugMux())
	defer srv.Close()
	for path, want := range map[string]int{"/debug/pprof/": http.StatusOK, "/debug/pprof/cmdline": http.StatusOK, "/healthz": http.StatusNotFound} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}
