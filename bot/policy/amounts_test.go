package policy

import (
	"errors"
	"strings"
	"testing"

	"github.com/paylink/paylink/dojo"
)

func TestParseMaxAmounts(t *testing.T) {
	tests := []struct {
		in       string
		gbp, eur int64
		err      string
	}{
		{"", 1000000, 1000000, ""},
		{"10000.00", 1000000, 1000000, ""},
		{"250", 25000, 25000, ""},
		{"GBP:5000,EUR:6000", 500000, 600000, ""},
		{"gbp:5000", 500000, 1000000, ""},
		{" EUR:0.50 , ", 1000000, 50, ""},
		{"USD:10", 0, 0, "unknown currency"},
		{"GBP:abc", 0, 0, "GBP"},
		{"GBP5000", 0, 0, "PAYLINK_MAX_AMOUNT"},
		{"GBP:5000,EUR", 0, 0, "CODE:amount"},
		{"0", 0, 0, "more than zero"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			m, err := ParseMaxAmounts(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseMaxAmounts(%q) error = %v, want one mentioning %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if g, e := m.Limit("GBP").Value, m.Limit("EUR").Value; g != tt.gbp || e != tt.eur {
				t.Errorf("limits GBP %d EUR %d, want %d %d", g, e, tt.gbp, tt.eur)
			}
		})
	}
}

func TestMaxAmountsCheck(t *testing.T) {
	m, _ := ParseMaxAmounts("GBP:5000")
	tests := []struct {
		amount dojo.Money
		want   string // "" accepted, else in the problem
	}{
		{dojo.Money{Value: 500000, CurrencyCode: "GBP"}, ""},
		{dojo.Money{Value: 500001, CurrencyCode: "GBP"}, "£5,000.00"},
		{dojo.Money{Value: 1000000, CurrencyCode: "EUR"}, ""},
		{dojo.Money{Value: 1000001, CurrencyCode: "EUR"}, "€10,000.00"},
	}
	for _, tt := range tests {
		err := m.Check(tt.amount)
		if tt.want == "" {
			if err != nil {
				t.Errorf("Check(%v) = %v, want accepted", tt.amount, err)
			}
			continue
		}
		var over *OverLimit
		if !errors.As(err, &over) || !strings.Contains(over.Problem, tt.want) {
			t.Errorf("Check(%v) = %v, want an OverLimit naming %s", tt.amount, err, tt.want)
		}
	}
	var zero MaxAmounts
	if err := zero.Check(dojo.Money{Value: 1000001, CurrencyCode: "GBP"}); err == nil {
		t.Errorf("the zero MaxAmounts has no limit; want the 10000.00 default")
	}
}
