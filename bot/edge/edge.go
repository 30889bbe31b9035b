// Package edge is what every HTTP route of paylink shares: request ids, a request log
// with panic recovery, per-route measurements, body limits, and the cut that keeps a
// caller's text short in the log.
package edge

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"

	"github.com/paylink/paylink/dojo/safetext"
)

// RequestIDHeader carries the request id back to the caller, and is taken from the
// caller when it sends a plausible one (a proxy's trace id, say).
const RequestIDHeader = "X-Request-Id"

// NewRequestID returns 16 random hex characters.
func NewRequestID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// validRequestID accepts ids of 8–64 characters from [A-Za-z0-9_-], so a caller can't
// put anything else into our logs.
func validRequestID(id string) bool {
	return len(id) >= 8 && len(id) <= 64 && safetext.IDChars(id)
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// WithRequestLog gives every request an id and a logger carrying it (zerolog.Ctx),
// logs each request at debug level with how long it took by clock (nil: the real
// clock), and turns a panic into a logged 500.
func WithRequestLog(log zerolog.Logger, clock clockwork.Clock, next http.Handler) http.Handler {
	clock = orRealClock(clock)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !validRequestID(id) {
			id = NewRequestID()
		}
		w.Header().Set(RequestIDHeader, id)
		rlog := log.With().Str("request_id", id).Logger()
		r = r.WithContext(rlog.WithContext(r.Context()))
		sw := &statusWriter{ResponseWriter: w}
		start := clock.Now()
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				rlog.Error().Str("panic", Truncate(PanicText(p), 500)).Bytes("stack", debug.Stack()).
					Str("path", r.URL.Path).Msg("handler panicked")
				if sw.status == 0 {
					http.Error(sw, "internal error", http.StatusInternalServerError)
				}
				return
			}
			rlog.Debug().Str("method", r.Method).Str("path", r.URL.Path).Int("status", sw.status).
				Dur("duration", clock.Since(start)).Msg("request")
		}()
		next.ServeHTTP(sw, r)
	})
}

// PanicText says what a recovered panic value was.
func PanicText(v any) string {
	switch v := v.(type) {
	case error:
		return v.Error()
	case string:
		return v
	default:
		return "non-error panic value"
	}
}

// ErrTooLarge is returned by ReadBody for a body over its limit.
var ErrTooLarge = errors.New("request body too large")

// ReadBody reads the whole body, at most limit bytes. A larger body yields ErrTooLarge.
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, ErrTooLarge
	}
	return body, err
}

// Truncate cuts s to at most n bytes, on a rune boundary, with no mark of the cut.
func Truncate(s string, n int) string { return safetext.Truncate(s, n, "") }

// Instrument reports each request next serves to record, by route pattern ("other" for
// none), with its status code and how long it took by clock (nil: the real clock).
func Instrument(clock clockwork.Clock, record func(route string, code int, took time.Duration), next http.Handler) http.Handler {
	clock = orRealClock(clock)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		start := clock.Now()
		next.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" {
			route = "other"
		}
		code := sw.status
		if code == 0 {
			code = http.StatusOK
		}
		record(route, code, clock.Since(start))
	})
}

// orRealClock is clock, or the real clock when it is nil.
func orRealClock(clock clockwork.Clock) clockwork.Clock {
	if clock == nil {
		return clockwork.NewRealClock()
	}
	return clock
}
