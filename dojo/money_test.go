package dojo

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestParseAmount(t *testing.T) {
	gbp, _ := LookupCurrency("GBP")
	zeroExp := Currency{Code: "JPY", Exponent: 0, Symbol: "¥"}
	threeExp := Currency{Code: "KWD", Exponent: 3}
	tests := []struct {
		in   string
		cur  Currency
		want int64
		err  string
	}{
		{"10", gbp, 1000, ""},
		{"10.5", gbp, 1050, ""},
		{"10.00", gbp, 1000, ""},
		{"0.01", gbp, 1, ""},
		{"1,250.00", gbp, 125000, ""},
		{"12,345,678.90", gbp, 1234567890, ""},
		{"0010", gbp, 1000, ""},
		{"92233720368547758.07", gbp, 9223372036854775807, ""},
		{"1000", zeroExp, 1000, ""},
		{"1.234", threeExp, 1234, ""},
		{"", gbp, 0, "empty"},
		{"0", gbp, 0, "more than zero"},
		{"0.00", gbp, 0, "more than zero"},
		{"-1", gbp, 0, "more than zero"},
		{"+1", gbp, 0, "sign"},
		{"1.001", gbp, 0, "at most 2"},
		{"1.5", zeroExp, 0, "no decimal places"},
		{"1e2", gbp, 0, "exponent"},
		{"NaN", gbp, 0, "not a number"},
		{"inf", gbp, 0, "not a number"},
		{"1..2", gbp, 0, "more than one decimal point"},
		{"1.2.3", gbp, 0, "more than one decimal point"},
		{"1.", gbp, 0, "after the decimal point"},
		{".5", gbp, 0, "before the decimal point"},
		{"1,00", gbp, 0, "point for decimals"},
		{"1,0000", gbp, 0, "thousands"},
		{"1234,567", gbp, 0, "thousands"},
		{"1 000", gbp, 0, "digits"},
		{"١", gbp, 0, "digits"},
		{"92233720368547758.08", gbp, 0, "too large"},
		{"99999999999999999999999", gbp, 0, "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseAmount(tt.in, tt.cur)
			if tt.err != "" {
				if !errors.Is(err, ErrAmount) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseAmount(%q) = %d, %v; want an error mentioning %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseAmount(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestMoneyString(t *testing.T) {
	tests := []struct {
		m    Money
		want string
	}{
		{Money{1000, "GBP"}, "£10.00"},
		{Money{1, "GBP"}, "£0.01"},
		{Money{125050, "EUR"}, "€1,250.50"},
		{Money{100000000, "GBP"}, "£1,000,000.00"},
		{Money{-250, "GBP"}, "-£2.50"},
		{Money{1000, "XYZ"}, "10.00 XYZ"},
	}
	for _, tt := range tests {
		if got := tt.m.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.m, got, tt.want)
		}
	}
}

func TestCurrencyTable(t *testing.T) {
	if got := strings.Join(CurrencyCodes(), ","); got != "EUR,GBP" {
		t.Errorf("CurrencyCodes = %s", got)
	}
	if c, ok := LookupCurrency("gbp"); !ok || c.Exponent != 2 {
		t.Errorf("LookupCurrency(gbp) = %+v %v", c, ok)
	}
	if c, ok := CurrencyForSymbol("€"); !ok || c.Code != "EUR" {
		t.Errorf("CurrencyForSymbol(€) = %+v %v", c, ok)
	}
	if _, ok := CurrencyForSymbol("$"); ok {
		t.Errorf("$ is not an accepted currency")
	}
}

// FuzzParseAmount: an accepted amount round-trips through Money.String exactly, and
// is positive; nothing panics.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"10", "10.5", "1,250.00", "0.01", "1e3", "NaN", "-1", "92233720368547758.07", "1,00", "٣"} {
		f.Add(s)
	}
	gbp, _ := LookupCurrency("GBP")
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseAmount(s, gbp)
		if err != nil {
			if !errors.Is(err, ErrAmount) {
				t.Fatalf("error %v is not ErrAmount", err)
			}
			return
		}
		if v <= 0 {
			t.Fatalf("ParseAmount(%q) = %d", s, v)
		}
		shown := strings.TrimPrefix(Money{v, "GBP"}.String(), "£")
		back, err := ParseAmount(shown, gbp)
		if err != nil || back != v {
			t.Fatalf("ParseAmount(%q) = %d, shown %q, parsed back %d, %v", s, v, shown, back, err)
		}
		plain := strings.ReplaceAll(strings.TrimLeft(s, "0"), ",", "")
		if !strings.Contains(plain, ".") {
			if want := strconv.FormatInt(v/100, 10); strings.TrimLeft(plain, "0") != strings.TrimLeft(want, "0") && v%100 == 0 {
				t.Fatalf("ParseAmount(%q) = %d", s, v)
			}
		}
	})
}
