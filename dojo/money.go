package dojo

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Currency is an ISO 4217 currency that Dojo accepts.
type Currency struct {
	Code     string // ISO 4217 alpha-3, upper case
	Exponent int    // ISO 4217 minor-unit exponent: 2 means 1.00 is 100 minor units
	Symbol   string // shown before the amount, e.g. "£"
}

// currencies are the currencies Dojo accepts (its Money.currencyCode takes GBP and EUR).
// Adding one is a one-line change; its exponent comes from ISO 4217.
var currencies = map[string]Currency{
	"GBP": {Code: "GBP", Exponent: 2, Symbol: "£"},
	"EUR": {Code: "EUR", Exponent: 2, Symbol: "€"},
}

// LookupCurrency returns the accepted currency with the given alpha-3 code, in any letter case.
func LookupCurrency(code string) (Currency, bool) {
	c, ok := currencies[strings.ToUpper(code)]
	return c, ok
}

// CurrencyForSymbol returns the accepted currency written with symbol ("£" → GBP).
func CurrencyForSymbol(symbol string) (Currency, bool) {
	for _, c := range currencies {
		if c.Symbol == symbol {
			return c, true
		}
	}
	return Currency{}, false
}

// CurrencyCodes returns the codes of the accepted currencies, sorted.
func CurrencyCodes() []string {
	codes := make([]string, 0, len(currencies))
	for code := range currencies {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	return codes
}

// Money is an amount in minor units of a currency, as Dojo's API carries it:
// {"value": 1000, "currencyCode": "GBP"} is £10.00.
type Money struct {
	Value        int64  `json:"value"`
	CurrencyCode string `json:"currencyCode"`
}

// String formats m for people: "£1,250.00", or "1,250.00 XYZ" for a currency
// not in the table (exponent 2 assumed).
func (m Money) String() string {
	c, ok := LookupCurrency(m.CurrencyCode)
	if !ok {
		c = Currency{Code: m.CurrencyCode, Exponent: 2}
	}
	v := m.Value
	sign := ""
	if v < 0 {
		sign = "-"
	}
	u := uint64(v)
	if v < 0 {
		u = uint64(-(v + 1)) + 1 // safe for math.MinInt64
	}
	scale := uint64(1)
	for range c.Exponent {
		scale *= 10
	}
	major := groupThousands(strconv.FormatUint(u/scale, 10))
	var b strings.Builder
	b.WriteString(sign)
	b.WriteString(c.Symbol)
	b.WriteString(major)
	if c.Exponent > 0 {
		frac := strconv.FormatUint(u%scale, 10)
		b.WriteByte('.')
		b.WriteString(strings.Repeat("0", c.Exponent-len(frac)))
		b.WriteString(frac)
	}
	if c.Symbol == "" {
		b.WriteByte(' ')
		b.WriteString(c.Code)
	}
	return b.String()
}

// groupThousands inserts commas into a string of decimal digits: "1250" → "1,250".
func groupThousands(digits string) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	head := len(digits) % 3
	if head == 0 {
		head = 3
	}
	b.WriteString(digits[:head])
	for i := head; i < len(digits); i += 3 {
		b.WriteByte(',')
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

// AmountError says why an amount could not be parsed. Its message is written for the
// person who typed the amount.
type AmountError struct {
	Input  string
	Reason string
}

func (e *AmountError) Error() string {
	return fmt.Sprintf("%q is not a valid amount: %s", e.Input, e.Reason)
}

// ErrAmount matches every *AmountError with errors.Is.
var ErrAmount = errors.New("invalid amount")

// Is reports whether target is ErrAmount.
func (e *AmountError) Is(target error) bool { return target == ErrAmount }

// ParseAmount converts a decimal amount written in major units ("10", "10.5",
// "1,250.00") to minor units of cur, exactly: no floating point is involved.
// Only ASCII digits are accepted; commas group thousands in threes; a point
// separates at most cur.Exponent decimals. Zero, signs, exponents, NaN, Inf and
// values that overflow int64 are refused with an *AmountError.
func ParseAmount(s string, cur Currency) (int64, error) {
	fail := func(reason string) (int64, error) { return 0, &AmountError{Input: s, Reason: reason} }
	if s == "" {
		return fail("it is empty")
	}
	switch lower := strings.ToLower(s); {
	case strings.HasPrefix(s, "-"):
		return fail("it must be more than zero")
	case strings.HasPrefix(s, "+"):
		return fail("write it without a sign")
	case strings.Contains(lower, "nan"), strings.Contains(lower, "inf"):
		return fail("it is not a number")
	case strings.ContainsAny(lower, "e") && strings.IndexFunc(lower, isASCIIDigit) >= 0:
		return fail("write it in plain digits, without an exponent")
	}
	intPart, frac, hasPoint := strings.Cut(s, ".")
	if hasPoint && strings.Contains(frac, ".") {
		return fail("it has more than one decimal point")
	}
	if hasPoint && frac == "" {
		return fail("put digits after the decimal point, or leave the point out")
	}
	if intPart == "" {
		return fail("put a digit before the decimal point, like 0.50")
	}
	if strings.Contains(intPart, ",") {
		groups := strings.Split(intPart, ",")
		if len(groups[0]) < 1 || len(groups[0]) > 3 || !allDigits(groups[0]) {
			return fail("commas may only group thousands, like 1,250.00")
		}
		for _, g := range groups[1:] {
			if len(g) != 3 || !allDigits(g) {
				if len(groups) == 2 && allDigits(g) && len(g) <= cur.Exponent && cur.Exponent > 0 {
					return fail("use a point for decimals, like 10.50")
				}
				return fail("commas may only group thousands, like 1,250.00")
			}
		}
		intPart = strings.Join(groups, "")
	}
	if !allDigits(intPart) || !allDigits(frac) {
		return fail("use only the digits 0-9, with an optional decimal point")
	}
	if len(frac) > cur.Exponent {
		if cur.Exponent == 0 {
			return fail(cur.Code + " has no decimal places")
		}
		return fail(fmt.Sprintf("%s has at most %d decimal places", cur.Code, cur.Exponent))
	}
	digits := strings.TrimLeft(intPart+frac+strings.Repeat("0", cur.Exponent-len(frac)), "0")
	if digits == "" {
		return fail("it must be more than zero")
	}
	if len(digits) > 19 {
		return fail("it is far too large")
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || v <= 0 {
		return fail("it is far too large")
	}
	return v, nil
}

func isASCIIDigit(r rune) bool { return r >= '0' && r <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
