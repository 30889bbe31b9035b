package slackin

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// Slack's documented signing example (reference/slack.md).
const (
	slackDocSecret    = "8f742231b10e8888abcd99yyyzzz85a5"
	slackDocTimestamp = "1531420618"
	slackDocBody      = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	slackDocSignature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
)

func slackHeaders(ts, sig string) http.Header {
	h := http.Header{}
	if ts != "" {
		h.Set("X-Slack-Request-Timestamp", ts)
	}
	if sig != "" {
		h.Set("X-Slack-Signature", sig)
	}
	return h
}

func TestSlackVerifierDocumentedVector(t *testing.T) {
	at := func(offset time.Duration) func() time.Time {
		return func() time.Time { return time.Unix(1531420618, 0).Add(offset) }
	}
	flipped := slackDocSignature[:len(slackDocSignature)-1] + "4"
	tests := []struct {
		name   string
		now    func() time.Time
		secret string
		h      http.Header
		body   string
		ok     bool
	}{
		{"documented vector", at(0), slackDocSecret, slackHeaders(slackDocTimestamp, slackDocSignature), slackDocBody, true},
		{"4m59s old", at(4*time.Minute + 59*time.Second), slackDocSecret, slackHeaders(slackDocTimestamp, slackDocSignature), slackDocBody, true},
		{"upper-case hex", at(0), slackDocSecret, slackHeaders(slackDocTimestamp, "v0=A2114D57B48EAC39B9AD189DD8316235A7B4A8D21A10BD27519666489C69B503"), slackDocBody, true},
		{"stale: 5m01s old", at(5*time.Minute + time.Second), slackDocSecret, slackHeaders(slackDocTimestamp, slackDocSignature), slackDocBody, false},
		{"from the future", at(-6 * time.Minute), slackDocSecret, slackHeaders(slackDocTimestamp, slackDocSignature), slackDocBody, false},
		{"one byte changed", at(0), slackDocSecret, slackHeaders(slackDocTimestamp, flipped), slackDocBody, false},
		{"body changed", at(0), slackDocSecret, slackHeaders(slackDocTimestamp, slackDocSignature), slackDocBody + "&x=1", false},
		{"timestamp changed", at(0), slackDocSecret, slackHeaders("1531420619", slackDocSignature), slackDocBody, false},
		{"wrong secret", at(0), "another", slackHeaders(slackDocTimestamp, slackDocSignature), slackDocBody, false},
		{"empty secret", at(0), "", slackHeaders(slackDocTimestamp, slackDocSignature), slackDocBody, false},
		{"no headers", at(0), slackDocSecret, slackHeaders("", ""), slackDocBody, false},
		{"no signature", at(0), slackDocSecret, slackHeaders(slackDocTimestamp, ""), slackDocBody, false},
		{"no timestamp", at(0), slackDocSecret, slackHeaders("", slackDocSignature), slackDocBody, false},
		{"v1 scheme", at(0), slackDocSecret, slackHeaders(slackDocTimestamp, "v1="+slackDocSignature[3:]), slackDocBody, false},
		{"short signature", at(0), slackDocSecret, slackHeaders(slackDocTimestamp, slackDocSignature[:40]), slackDocBody, false},
		{"not hex", at(0), slackDocSecret, slackHeaders(slackDocTimestamp, "v0="+string(make([]byte, 64))), slackDocBody, false},
		{"timestamp not a number", at(0), slackDocSecret, slackHeaders("15314206l8", slackDocSignature), slackDocBody, false},
		{"timestamp with a plus", at(0), slackDocSecret, slackHeaders("+1531420618", slackDocSignature), slackDocBody, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := NewVerifier(tt.secret, tt.now).Verify(tt.h, []byte(tt.body))
			if tt.ok && err != nil {
				t.Fatalf("Verify: %v, want success", err)
			}
			if !tt.ok && !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("Verify = %v, want ErrUnauthorized", err)
			}
		})
	}
}

func TestSignMatchesVector(t *testing.T) {
	ts, sig := Sign(slackDocSecret, time.Unix(1531420618, 0), []byte(slackDocBody))
	if ts != slackDocTimestamp || sig != slackDocSignature {
		t.Errorf("Sign = %s %s, want %s %s", ts, sig, slackDocTimestamp, slackDocSignature)
	}
}

// FuzzSlackVerifier: nothing but the right signature on the exact body passes, and no
// input panics.
func FuzzSlackVerifier(f *testing.F) {
	f.Add(slackDocTimestamp, slackDocSignature, []byte(slackDocBody))
	f.Add("", "", []byte{})
	f.Add("1531420618", "v0=", []byte("x"))
	f.Add("-1", "v0=zz", []byte("text=%"))
	f.Add("99999999999999999999", slackDocSignature, []byte(slackDocBody))
	now := func() time.Time { return time.Unix(1531420618, 0) }
	v := NewVerifier(slackDocSecret, now)
	f.Fuzz(func(t *testing.T, ts, sig string, body []byte) {
		err := v.Verify(slackHeaders(ts, sig), body)
		if err != nil {
			if !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("error %v does not wrap ErrUnauthorized", err)
			}
			return
		}
		n, perr := strconv.ParseInt(ts, 10, 64)
		if perr != nil || n < 1531420618-300 || n > 1531420618+300 {
			t.Fatalf("accepted timestamp %q", ts)
		}
		if _, want := Sign(slackDocSecret, time.Unix(n, 0), body); want != sig && !equalFoldHex(want, sig) {
			t.Fatalf("accepted signature %q for body %q", sig, body)
		}
	})
}

func equalFoldHex(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i]|0x20, b[i]|0x20
		if x != y {
			return false
		}
	}
	return true
}

func BenchmarkSlackVerify(b *testing.B) {
	v := NewVerifier(slackDocSecret, func() time.Time { return time.Unix(1531420618, 0) })
	h := slackHeaders(slackDocTimestamp, slackDocSignature)
	body := []byte(slackDocBody)
	b.ReportAllocs()
	for b.Loop() {
		if err := v.Verify(h, body); err != nil {
			b.Fatal(err)
		}
	}
}
