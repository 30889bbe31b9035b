package dojo

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// Error is a failed Dojo API call: an RFC 7807 problem answer, or no answer at all.
// Its text never contains the API key.
type Error struct {
	Op         string // what was attempted, e.g. "create payment intent"
	StatusCode int    // the HTTP status, 0 when Dojo did not answer

	// From Dojo's problem-details body, when there was one.
	Type     string
	Title    string
	Detail   string
	TraceID  string
	Instance string
	Errors   map[string][]string // field → messages

	Timeout bool  // no answer within the time allowed: the call may still have taken effect
	Err     error // the transport error, when Dojo did not answer
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("dojo: ")
	b.WriteString(e.Op)
	switch {
	case e.Timeout:
		b.WriteString(": timed out")
	case e.StatusCode == 0 && e.Err != nil:
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	default:
		fmt.Fprintf(&b, ": %d", e.StatusCode)
		if e.Title != "" {
			b.WriteString(" ")
			b.WriteString(e.Title)
		}
		if e.Detail != "" {
			b.WriteString(": ")
			b.WriteString(e.Detail)
		}
		for _, f := range e.FieldErrors() {
			b.WriteString("; ")
			b.WriteString(f)
		}
		if e.TraceID != "" {
			b.WriteString(" (trace ")
			b.WriteString(e.TraceID)
			b.WriteString(")")
		}
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Message says what went wrong for a person: Dojo's title, detail and field errors,
// and the trace id to quote to Dojo's support.
func (e *Error) Message() string {
	var lines []string
	switch {
	case e.Timeout:
		lines = append(lines, "Dojo did not answer in time.")
	case e.StatusCode == 0:
		lines = append(lines, "Paylink could not reach Dojo.")
	default:
		title := e.Title
		if title == "" {
			title = http.StatusText(e.StatusCode)
		}
		line := fmt.Sprintf("Dojo said: %s (HTTP %d)", title, e.StatusCode)
		if e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden {
			line += ". Paylink's Dojo API key was refused; an operator must check DOJO_API_KEY"
		}
		lines = append(lines, line)
		if e.Detail != "" {
			lines = append(lines, e.Detail)
		}
		lines = append(lines, e.FieldErrors()...)
	}
	if e.TraceID != "" {
		lines = append(lines, "Dojo trace id: "+e.TraceID)
	}
	return strings.Join(lines, "\n")
}

// FieldErrors flattens Errors into "Field: message" lines, sorted by field.
func (e *Error) FieldErrors() []string {
	fields := make([]string, 0, len(e.Errors))
	for f := range e.Errors {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	var out []string
	for _, f := range fields {
		for _, m := range e.Errors[f] {
			if strings.Contains(m, f) {
				out = append(out, m)
			} else {
				out = append(out, f+": "+m)
			}
		}
	}
	return out
}

// Temporary reports whether the same call may succeed later: no answer, a 5xx, or 429.
func (e *Error) Temporary() bool {
	return e.StatusCode == 0 || e.StatusCode >= 500 || e.StatusCode == http.StatusTooManyRequests
}

// IsNotFound reports whether err is Dojo answering 404.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.StatusCode == http.StatusNotFound
}

// problem is the union of Dojo's ProblemDetails and ErrorResponse bodies.
type problem struct {
	Type     string              `json:"type"`
	Title    string              `json:"title"`
	Status   int                 `json:"status"`
	Detail   string              `json:"detail"`
	Instance string              `json:"instance"`
	TraceID  string              `json:"traceId"`
	Errors   map[string][]string `json:"errors"`
}

// scrubMin is the shortest run of the API key's characters that is scrubbed: no 8
// consecutive characters of the key survive in anything paylink shows or logs.
const scrubMin = 8

// scrub returns text with every run of scrubMin or more characters that appears in
// secret replaced by "[redacted]": the whole key, and any part of it Dojo echoed, cut
// or split. A secret shorter than scrubMin is left alone.
func scrub(text, secret string) string {
	if len(secret) < scrubMin || len(text) < scrubMin {
		return text
	}
	var b strings.Builder
	last := 0
	for i := 0; i+scrubMin <= len(text); {
		if !strings.Contains(secret, text[i:i+scrubMin]) {
			i++
			continue
		}
		j := i + scrubMin
		for j < len(text) && strings.Contains(secret, text[i:j+1]) {
			j++
		}
		b.WriteString(text[last:i])
		b.WriteString("[redacted]")
		last, i = j, j
	}
	if last == 0 {
		return text
	}
	b.WriteString(text[last:])
	return b.String()
}

// scrubError scrubs secret from every field of e that came from Dojo: title, detail,
// type, instance, trace id, and the names and messages of field errors.
func scrubError(e *Error, secret string) {
	e.Title, e.Detail, e.Instance, e.Type, e.TraceID =
		scrub(e.Title, secret), scrub(e.Detail, secret), scrub(e.Instance, secret), scrub(e.Type, secret), scrub(e.TraceID, secret)
	if e.Errors == nil {
		return
	}
	clean := make(map[string][]string, len(e.Errors))
	for f, msgs := range e.Errors {
		out := make([]string, len(msgs))
		for i, m := range msgs {
			out[i] = scrub(m, secret)
		}
		f = scrub(f, secret)
		clean[f] = append(clean[f], out...)
	}
	e.Errors = clean
}

// redacted is an error whose text has a secret scrubbed from it.
type redacted struct {
	err    error
	secret string
}

func (r redacted) Error() string { return scrub(r.err.Error(), r.secret) }

func (r redacted) Unwrap() error { return r.err }
