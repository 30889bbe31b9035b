package slackout

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/paylink/paylink/store"
)

// fullTotals has every kind in both currencies at their largest, and many agents.
func fullTotals(agents int) store.Totals {
	big := store.Total{Count: 999999, Amount: 999999999999}
	t := store.Totals{Kinds: map[string]store.Sums{}, Agents: map[string]store.Sums{}}
	for _, k := range store.Kinds {
		t.Kinds[k] = store.Sums{"GBP": big, "EUR": big}
	}
	for i := range agents {
		t.Agents[fmt.Sprintf("U%010d", i)] = store.Sums{"GBP": {Count: int64(i + 1), Amount: int64(1000 * (i + 1))}, "EUR": big}
	}
	return t
}

func TestDigestGolden(t *testing.T) {
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	var oldest []*store.Link
	for i := range 5 {
		l := worstLink("Created")
		l.UserID = fmt.Sprintf("U%010d", i)
		l.CreatedAt = now.Add(-time.Duration(30-i) * 24 * time.Hour)
		oldest = append(oldest, l)
	}
	tests := []struct {
		name string
		r    DigestReport
		has  []string
	}{
		{"digest-full.json", DigestReport{Day: "2026-11-29", Totals: fullTotals(40), Oldest: oldest, Now: now},
			[]string{"Sunday 29 November 2026", "Top agents", "1. <@U0000000039>", "Oldest links still open", "&amp;&amp;"}},
		{"digest-quiet.json", DigestReport{Day: "2026-11-29", Now: now},
			[]string{"Links created: none", "Paid: none", "No links are still open."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, blocks := Digest(tt.r)
			checkBlocks(t, tt.name, blocks, 50)
			for _, s := range tt.has {
				if !strings.Contains(text, s) {
					t.Errorf("digest text lacks %q:\n%s", s, text)
				}
			}
			if strings.Contains(text, fmt.Sprintf("\n%d. ", digestTopAgents+1)) {
				t.Errorf("digest names more than %d agents:\n%s", digestTopAgents, text)
			}
			goldenJSON(t, tt.name, map[string]any{"text": text, "blocks": blocks})
		})
	}
}

func TestTopAgents(t *testing.T) {
	agents := map[string]store.Sums{
		"U1": {"GBP": {Count: 1, Amount: 500}},
		"U2": {"GBP": {Count: 2, Amount: 100}},
		"U3": {"EUR": {Count: 1, Amount: 900}},
		"U4": {"GBP": {Count: 1, Amount: 500}},
	}
	var got []string
	for _, a := range TopAgents(agents, 3) {
		got = append(got, a.User)
	}
	if want := "U2 U3 U1"; strings.Join(got, " ") != want {
		t.Errorf("TopAgents = %v, want %s", got, want)
	}
}

func TestSumsText(t *testing.T) {
	tests := []struct {
		in   store.Sums
		want string
	}{
		{nil, "none"},
		{store.Sums{"GBP": {Count: 2, Amount: 1050}}, "2 for £10.50"},
		{store.Sums{"GBP": {Count: 2, Amount: 1050}, "EUR": {Count: 1, Amount: 7}}, "1 for €0.07, 2 for £10.50"},
	}
	for _, tt := range tests {
		if got := SumsText(tt.in); got != tt.want {
			t.Errorf("SumsText(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
