package dojo_test

import (
	"strings"
	"testing"

	"github.com/paylink/paylink/dojo"
)

func TestValidIntentID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"pi_sandbox_RlA2pVHqzUWZ0FTrsmVXFA", true},
		{"pi_prod-abc_123", true},
		{strings.Repeat("a", 100), true},
		{"", false},
		{strings.Repeat("a", 101), false},
		{"pi_sandbox_abc/../x", false},
		{"pi sandbox", false},
		{"pi_{events}", false},
		{"pi_é", false},
		{"pi_\n", false},
	}
	for _, tt := range tests {
		if got := dojo.ValidIntentID(tt.id); got != tt.want {
			t.Errorf("ValidIntentID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}
