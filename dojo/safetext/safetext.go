// Package safetext keeps text that comes from outside paylink fit for logs, URLs and
// Redis keys: cut short without splitting a character, and ids restricted to a plain
// alphabet.
package safetext

import "unicode/utf8"

// Truncate cuts s to at most n bytes, at the last character boundary at or before n,
// and appends marker when it cuts ("…", say, or "" for none). Text of n bytes or less
// is returned as it is. A cut never splits a UTF-8 character, so valid UTF-8 stays
// valid.
func Truncate(s string, n int, marker string) string {
	if len(s) <= n {
		return s
	}
	n = max(n, 0)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + marker
}

// IDChars reports whether s is made only of [A-Za-z0-9_-]: the characters of the ids
// paylink takes from others (Dojo's intent ids, a caller's request id). The empty
// string qualifies; each kind of id has its own length rules.
func IDChars(s string) bool {
	for i := 0; i < len(s); i++ {
		if !idChar(s[i]) {
			return false
		}
	}
	return true
}

func idChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}
