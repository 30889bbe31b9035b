package slackin

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrUnauthorized is returned for a request whose Slack signature is missing, stale or wrong.
var ErrUnauthorized = errors.New("slack signature missing, stale or invalid")

// Slack's request-signing headers and rules.
const (
	headerSlackSignature = "X-Slack-Signature"
	headerSlackTimestamp = "X-Slack-Request-Timestamp"
	slackSignatureMaxAge = 5 * time.Minute
	slackSignaturePrefix = "v0="
)

// Verifier checks Slack's request signature: v0=hex(HMAC-SHA256(secret,
// "v0:"+timestamp+":"+body)), with the timestamp within five minutes of now.
type Verifier struct {
	secret []byte
	now    func() time.Time
}

// NewVerifier returns a verifier for the app's signing secret. now tells the time the
// timestamp is checked against: the Now of the process's clock (nil: time.Now).
func NewVerifier(secret string, now func() time.Time) *Verifier {
	if now == nil {
		now = time.Now
	}
	return &Verifier{secret: []byte(secret), now: now}
}

// Verify reports whether body, with the headers Slack sent, was signed with the secret
// within the last five minutes. It returns an error wrapping ErrUnauthorized otherwise.
// The signature is compared in constant time.
func (v *Verifier) Verify(h http.Header, body []byte) error {
	tsText := h.Get(headerSlackTimestamp)
	sigText := h.Get(headerSlackSignature)
	if tsText == "" || sigText == "" {
		return fmtUnauthorized("missing signature headers")
	}
	if len(v.secret) == 0 {
		return fmtUnauthorized("no signing secret configured")
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil || ts <= 0 {
		return fmtUnauthorized("malformed timestamp")
	}
	age := v.now().Sub(time.Unix(ts, 0))
	if age > slackSignatureMaxAge || age < -slackSignatureMaxAge {
		return fmtUnauthorized("timestamp outside the 5-minute window")
	}
	if len(sigText) != len(slackSignaturePrefix)+sha256.Size*2 || sigText[:len(slackSignaturePrefix)] != slackSignaturePrefix {
		return fmtUnauthorized("malformed signature")
	}
	got := make([]byte, sha256.Size)
	if _, err := hex.Decode(got, []byte(sigText[len(slackSignaturePrefix):])); err != nil {
		return fmtUnauthorized("malformed signature")
	}
	if !hmac.Equal(got, slackMAC(v.secret, tsText, body)) {
		return fmtUnauthorized("signature mismatch")
	}
	return nil
}

// verify is Verify, except that a nil verifier passes everything: requests that came
// over Socket Mode, which Slack authenticates on the connection.
func (v *Verifier) verify(h http.Header, body []byte) error {
	if v == nil {
		return nil
	}
	return v.Verify(h, body)
}

// replayKey is what identifies a signed request for the replay guard: its MAC, as
// lower-case hex. Verify accepts the hex in any letter case, so the header as sent
// can't be the key: the same request with its signature's case changed would pass
// as new. Empty for a request without a signature (one that came over Socket Mode).
func replayKey(h http.Header) string {
	return strings.ToLower(h.Get(headerSlackSignature))
}

func slackMAC(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("v0:"))
	m.Write([]byte(ts))
	m.Write([]byte(":"))
	m.Write(body)
	return m.Sum(nil)
}

// Sign signs body as Slack does at time ts; it returns the values of the
// X-Slack-Request-Timestamp and X-Slack-Signature headers. Tests, the load generator and
// the CLI use it to talk to paylink as Slack would.
func Sign(secret string, ts time.Time, body []byte) (timestamp, signature string) {
	timestamp = strconv.FormatInt(ts.Unix(), 10)
	return timestamp, slackSignaturePrefix + hex.EncodeToString(slackMAC([]byte(secret), timestamp, body))
}

type unauthorizedError struct{ reason string }

func (e *unauthorizedError) Error() string        { return "unauthorized: " + e.reason }
func (e *unauthorizedError) Is(target error) bool { return target == ErrUnauthorized }

func fmtUnauthorized(reason string) error { return &unauthorizedError{reason: reason} }
