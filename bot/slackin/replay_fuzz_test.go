package slackin

import (
	"strings"
	"testing"
	"time"
)

// FuzzReplayKey: every way of writing one signature that Verify accepts (the hex in
// any mix of letter case) gives the same replay key, and signatures of different
// requests give different keys.
func FuzzReplayKey(f *testing.F) {
	f.Add([]byte("token=x&text=10+GBP+ref-1"), uint64(0))
	f.Add([]byte("token=x&text=10+GBP+ref-1"), ^uint64(0))
	f.Add([]byte(""), uint64(0x5555555555555555))
	f.Add([]byte("payload=%7B%7D"), uint64(1))
	f.Fuzz(func(t *testing.T, body []byte, mask uint64) {
		now := time.Unix(1_764_500_000, 0)
		v := NewVerifier("secret", func() time.Time { return now })
		ts, sig := Sign("secret", now, body)
		hex := []byte(strings.TrimPrefix(sig, "v0="))
		for i := range hex {
			if mask&(1<<(uint(i)%64)) != 0 && hex[i] >= 'a' && hex[i] <= 'f' {
				hex[i] -= 'a' - 'A'
			}
		}
		written := "v0=" + string(hex)
		h := slackHeaders(ts, written)
		if err := v.Verify(h, body); err != nil {
			t.Fatalf("Verify refused %q: %v", written, err)
		}
		if got, want := replayKey(h), replayKey(slackHeaders(ts, sig)); got != want {
			t.Fatalf("replay key of %q = %q, of %q = %q: one request, two keys", written, got, sig, want)
		}
		_, other := Sign("secret", now, append(body, 'x'))
		if replayKey(slackHeaders(ts, other)) == replayKey(h) {
			t.Fatalf("two requests share the replay key %q", replayKey(h))
		}
	})
}
