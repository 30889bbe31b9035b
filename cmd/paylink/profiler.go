package main

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The profiler's routes, as go tool pprof expects them.
const debugPrefix = "/debug/pprof/"

// Bounds of the ?seconds= of a CPU profile or an execution trace.
const (
	defaultProfileSeconds = 30
	defaultTraceSeconds   = 1
	maxCaptureSeconds     = 300
)

// namedProfiles are the runtime's profiles served by name under debugPrefix.
var namedProfiles = []string{"allocs", "block", "goroutine", "heap", "mutex", "threadcreate"}

// debugMux serves Go's profiler under /debug/pprof/ on a mux of its own: the index, the
// command line, a CPU profile, symbol look-ups, an execution trace and the runtime's
// named profiles. Nothing is registered on http.DefaultServeMux.
func debugMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+debugPrefix+"{$}", profilerIndex)
	mux.HandleFunc("GET "+debugPrefix+"cmdline", profilerCmdline)
	mux.HandleFunc("GET "+debugPrefix+"profile", profilerCPU)
	mux.HandleFunc(debugPrefix+"symbol", profilerSymbol)
	mux.HandleFunc("GET "+debugPrefix+"trace", profilerTrace)
	for _, name := range namedProfiles {
		mux.Handle("GET "+debugPrefix+name, namedProfile(name))
	}
	return mux
}

// profilerIndex lists what the profiler serves.
func profilerIndex(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html><head><title>/debug/pprof/</title></head><body>\n<p>paylink's profiles:</p>\n<table>\n")
	names := append([]string(nil), namedProfiles...)
	sort.Strings(names)
	for _, name := range names {
		count := 0
		if p := pprof.Lookup(name); p != nil {
			count = p.Count()
		}
		fmt.Fprintf(&b, "<tr><td>%d</td><td><a href=\"%s?debug=1\">%s</a></td></tr>\n", count, html.EscapeString(name), html.EscapeString(name))
	}
	b.WriteString("</table>\n<p><a href=\"cmdline\">cmdline</a> · <a href=\"profile\">profile</a> (CPU, ?seconds=, 30 by default) · " +
		"<a href=\"symbol\">symbol</a> · <a href=\"trace?seconds=1\">trace</a> (?seconds=, 1 by default)</p>\n" +
		"<p>go tool pprof http://HOST/debug/pprof/heap</p>\n</body></html>\n")
	io.WriteString(w, b.String())
}

// profilerCmdline answers the command line, its arguments separated by NUL bytes.
func profilerCmdline(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, strings.Join(os.Args, "\x00"))
}

// captureSeconds reads ?seconds=: def when absent, an error outside 1 to
// maxCaptureSeconds.
func captureSeconds(r *http.Request, def int) (time.Duration, error) {
	text := r.FormValue("seconds")
	if text == "" {
		return time.Duration(def) * time.Second, nil
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < 1 || n > maxCaptureSeconds {
		return 0, fmt.Errorf("seconds must be a whole number from 1 to %d", maxCaptureSeconds)
	}
	return time.Duration(n) * time.Second, nil
}

// profilerCPU answers a CPU profile of the next ?seconds= (gzipped protobuf).
func profilerCPU(w http.ResponseWriter, r *http.Request) {
	capture(w, r, defaultProfileSeconds, "profile", pprof.StartCPUProfile, pprof.StopCPUProfile)
}

// profilerTrace answers an execution trace of the next ?seconds=.
func profilerTrace(w http.ResponseWriter, r *http.Request) {
	capture(w, r, defaultTraceSeconds, "trace", trace.Start, trace.Stop)
}

// capture records with start for ?seconds= (or until the client goes away) and answers
// what it wrote. Only one CPU profile, and one trace, can run at a time.
func capture(w http.ResponseWriter, r *http.Request, defSeconds int, file string, start func(io.Writer) error, stop func()) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	d, err := captureSeconds(r, defSeconds)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var out bytes.Buffer
	if err := start(&out); err != nil {
		http.Error(w, "could not start: "+err.Error(), http.StatusInternalServerError)
		return
	}
	t := time.NewTimer(d)
	select {
	case <-t.C:
	case <-r.Context().Done():
		t.Stop()
	}
	stop()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="`+file+`"`)
	w.Write(out.Bytes())
}

// namedProfile answers the runtime's profile name: gzipped protobuf, or text with
// ?debug=1 or 2. ?gc=1 runs a garbage collection before a heap profile.
func namedProfile(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		p := pprof.Lookup(name)
		if p == nil {
			http.Error(w, "unknown profile", http.StatusNotFound)
			return
		}
		if r.FormValue("seconds") != "" {
			http.Error(w, "delta profiles are not served: take two and compare them with go tool pprof -base", http.StatusBadRequest)
			return
		}
		debug, err := strconv.Atoi(r.FormValue("debug"))
		if r.FormValue("debug") == "" {
			debug, err = 0, nil
		}
		if err != nil || debug < 0 || debug > 2 {
			http.Error(w, "debug must be 0, 1 or 2", http.StatusBadRequest)
			return
		}
		if name == "heap" && r.FormValue("gc") != "" && r.FormValue("gc") != "0" {
			runtime.GC()
		}
		var out bytes.Buffer
		if err := p.WriteTo(&out, debug); err != nil {
			http.Error(w, "could not write the profile: "+err.Error(), http.StatusInternalServerError)
			return
		}
		if debug == 0 {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		} else {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		}
		w.Write(out.Bytes())
	})
}

// symbolBodyLimit caps a symbol look-up's request body.
const symbolBodyLimit = 1 << 20

// profilerSymbol looks up program counters, as go tool pprof asks: addresses separated
// by '+', in a POST's body or a GET's query, are answered with one "address function"
// line for each that names a function.
func profilerSymbol(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	var query string
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		query = r.URL.RawQuery
	case http.MethodPost:
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, symbolBodyLimit))
		if err != nil {
			http.Error(w, "could not read the request: "+err.Error(), http.StatusBadRequest)
			return
		}
		query = string(body)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var b strings.Builder
	b.WriteString("num_symbols: 1\n")
	for word := range strings.SplitSeq(query, "+") {
		pc, err := strconv.ParseUint(word, 0, 64)
		if err != nil || pc == 0 {
			continue
		}
		if f := runtime.FuncForPC(uintptr(pc)); f != nil {
			fmt.Fprintf(&b, "%#x %s\n", pc, f.Name())
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, b.String())
}
