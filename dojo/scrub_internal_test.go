package dojo

import (
	"strings"
	"testing"
)

// keyAlphabet is what Dojo's keys are made of.
const keyAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"

// FuzzScrub: whatever mix of the key's pieces and other text Dojo sends, no 8
// consecutive characters of the key survive scrub, and text without any is unchanged.
func FuzzScrub(f *testing.F) {
	f.Add("sk_sandbox_client_test_key_123", "trace 00-sk_sandbox_client_test_key_123-01")
	f.Add("sk_prod_abcdefgh", "sk_prod_abcdefgsk_prod_abcdefgh")
	f.Add("sk_sandbox_aaaaaaaaaa", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
	f.Add("sk_sandbox_0123456789", "x sk_sandbox_01 23456789 sandbox_0123")
	f.Fuzz(func(t *testing.T, rawKey, text string) {
		key := make([]byte, len(rawKey))
		for i := range key {
			key[i] = keyAlphabet[int(rawKey[i])%len(keyAlphabet)]
		}
		out := scrub(text, string(key))
		if len(key) < scrubMin {
			if out != text {
				t.Fatalf("scrub with a %d-character key changed %q to %q", len(key), text, out)
			}
			return
		}
		for i := 0; i+scrubMin <= len(key); i++ {
			if strings.Contains(out, string(key[i:i+scrubMin])) {
				t.Fatalf("scrub(%q, %q) = %q keeps %q", text, key, out, key[i:i+scrubMin])
			}
		}
		if !strings.Contains(out, "[redacted]") && out != text {
			t.Fatalf("scrub changed %q to %q without redacting", text, out)
		}
	})
}
