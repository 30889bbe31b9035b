package safetext

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTruncate(t *testing.T) {
	tests := []struct {
		name   string
		s      string
		n      int
		marker string
		want   string
	}{
		{"short", "abc", 5, "…", "abc"},
		{"exactly n", "abcde", 5, "…", "abcde"},
		{"cut", "abcdef", 5, "…", "abcde…"},
		{"cut, no marker", "abcdef", 5, "", "abcde"},
		{"empty", "", 0, "…", ""},
		{"n zero", "abc", 0, "…", "…"},
		{"n negative", "abc", -3, "", ""},
		{"two-byte character not split", "aé", 2, "…", "a…"},
		{"two-byte character kept whole", "aéb", 3, "…", "aé…"},
		{"three-byte character not split", "ab€", 3, "", "ab"},
		{"three-byte character, cut in its middle", "ab€", 4, "…", "ab…"},
		{"four-byte character not split", "😀😀", 7, "", "😀"},
		{"only a character that does not fit", "😀", 3, "…", "…"},
		{"cut before a character", "abc€", 3, "…", "abc…"},
		{"invalid UTF-8 is cut by bytes", "a\xffbc", 2, "", "a\xff"},
		{"stray continuation bytes", "\x80\x80\x80", 2, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Truncate(tt.s, tt.n, tt.marker); got != tt.want {
				t.Errorf("Truncate(%q, %d, %q) = %q, want %q", tt.s, tt.n, tt.marker, got, tt.want)
			}
		})
	}
}

// FuzzTruncate: whatever the text and the limit, the result is a prefix of the text of
// at most n bytes, then the marker if it cut; it is valid UTF-8 whenever the text is;
// and it drops no more than the end of one character beyond the limit.
func FuzzTruncate(f *testing.F) {
	f.Add("hello, world", 5)
	f.Add("naïve café", 3)
	f.Add("😀😀😀", 6)
	f.Add("€", 1)
	f.Add("", 0)
	f.Add("a\xffb\x80c", 2)
	f.Fuzz(func(t *testing.T, s string, n int) {
		for _, marker := range []string{"", "…"} {
			got := Truncate(s, n, marker)
			if len(s) <= n {
				if got != s {
					t.Fatalf("Truncate(%q, %d, %q) = %q, changed text that fits", s, n, marker, got)
				}
				continue
			}
			kept, ok := strings.CutSuffix(got, marker)
			if !ok || !strings.HasPrefix(s, kept) {
				t.Fatalf("Truncate(%q, %d, %q) = %q, not a prefix then the marker", s, n, marker, got)
			}
			if len(kept) > max(n, 0) || len(got) > max(n, 0)+len(marker) {
				t.Fatalf("Truncate(%q, %d, %q) = %q, over %d bytes and the marker", s, n, marker, got, n)
			}
			if utf8.ValidString(s) && !utf8.ValidString(got) {
				t.Fatalf("Truncate(%q, %d, %q) = %q, not valid UTF-8", s, n, marker, got)
			}
			if utf8.ValidString(s) && len(kept) <= n-utf8.UTFMax {
				t.Fatalf("Truncate(%q, %d, %q) = %q, cut more than one character short", s, n, marker, got)
			}
		}
	})
}

func TestIDChars(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{"", true},
		{"pi_sandbox_AbC-123", true},
		{"0123456789abcdefABCDEF-_", true},
		{"with space", false},
		{"slash/", false},
		{"dot.", false},
		{"colon:", false},
		{"newline\n", false},
		{"nul\x00", false},
		{"é", false},
		{"\xff", false},
		{"{braces}", false},
		{"star*", false},
	}
	for _, tt := range tests {
		if got := IDChars(tt.s); got != tt.want {
			t.Errorf("IDChars(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}

// TestIDCharsAlphabet: exactly the 64 bytes of [A-Za-z0-9_-] qualify.
func TestIDCharsAlphabet(t *testing.T) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
	for c := 0; c < 256; c++ {
		want := strings.IndexByte(alphabet, byte(c)) >= 0
		if got := IDChars(string([]byte{byte(c)})); got != want {
			t.Errorf("IDChars(%q) = %v, want %v", byte(c), got, want)
		}
	}
}
