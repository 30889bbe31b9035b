package policy

import (
	"fmt"
	"strings"

	"github.com/paylink/paylink/dojo"
)

// DefaultMaxAmount is the largest amount per link, in major units, for a currency
// PAYLINK_MAX_AMOUNT doesn't name.
const DefaultMaxAmount = "10000.00"

// MaxAmounts caps the amount of one link, per currency, in minor units.
type MaxAmounts struct {
	fallback string           // major units, for currencies not in perCurrency
	limits   map[string]int64 // currency code → minor units
}

// ParseMaxAmounts reads PAYLINK_MAX_AMOUNT: empty (10000.00 for every currency), one
// amount for every currency ("5000"), or per currency ("GBP:5000,EUR:6000", others
// get 10000.00). Amounts are in major units and inclusive.
func ParseMaxAmounts(s string) (MaxAmounts, error) {
	m := MaxAmounts{fallback: DefaultMaxAmount, limits: map[string]int64{}}
	s = strings.TrimSpace(s)
	if s != "" && !strings.Contains(s, ":") {
		m.fallback = s
		s = ""
	}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		code, amount, ok := strings.Cut(part, ":")
		if !ok {
			return MaxAmounts{}, fmt.Errorf("PAYLINK_MAX_AMOUNT: %q: write CODE:amount, like GBP:5000", part)
		}
		cur, ok := dojo.LookupCurrency(strings.TrimSpace(code))
		if !ok {
			return MaxAmounts{}, fmt.Errorf("PAYLINK_MAX_AMOUNT: unknown currency %q (accepted: %s)", code, strings.Join(dojo.CurrencyCodes(), ", "))
		}
		v, err := dojo.ParseAmount(strings.TrimSpace(amount), cur)
		if err != nil {
			return MaxAmounts{}, fmt.Errorf("PAYLINK_MAX_AMOUNT: %s: %w", cur.Code, err)
		}
		m.limits[cur.Code] = v
	}
	for _, code := range dojo.CurrencyCodes() {
		if _, ok := m.limits[code]; ok {
			continue
		}
		cur, _ := dojo.LookupCurrency(code)
		v, err := dojo.ParseAmount(m.fallback, cur)
		if err != nil {
			return MaxAmounts{}, fmt.Errorf("PAYLINK_MAX_AMOUNT: %w", err)
		}
		m.limits[code] = v
	}
	return m, nil
}

// Limit is the largest amount one link may have in the currency.
func (m MaxAmounts) Limit(code string) dojo.Money {
	if v, ok := m.limits[code]; ok {
		return dojo.Money{Value: v, CurrencyCode: code}
	}
	if m.limits == nil {
		d, _ := ParseMaxAmounts("")
		return d.Limit(code)
	}
	return dojo.Money{Value: 0, CurrencyCode: code}
}

// OverLimit is an amount above its cap. Problem says so, for the agent.
type OverLimit struct {
	Problem string
}

func (e *OverLimit) Error() string { return e.Problem }

// Check refuses, with an *OverLimit naming the limit, an amount above it.
func (m MaxAmounts) Check(amount dojo.Money) error {
	limit := m.Limit(amount.CurrencyCode)
	if amount.Value > limit.Value {
		return overLimitf("%s is more than the %s limit for one payment link. Split the payment, or ask an admin to raise PAYLINK_MAX_AMOUNT.", amount, limit)
	}
	return nil
}

func overLimitf(format string, args ...any) *OverLimit {
	return &OverLimit{Problem: fmt.Sprintf(format, args...)}
}
