package slackin

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/paylink/paylink/bot/flow"
	"github.com/paylink/paylink/bot/slackout"
	"github.com/paylink/paylink/dojo"
)

// MaxReferenceLen is the longest reference Dojo accepts, in characters (UTF-16 code
// units, as Dojo's .NET validation counts them).
const MaxReferenceLen = 60

// CommandKind says what a /paylink command asks for.
type CommandKind int

const (
	CommandHelp   CommandKind = iota // "/paylink help"
	CommandCreate                    // "/paylink 10.00 GBP ref-123"
	CommandForm                      // "/paylink" alone: open the form
	CommandList                      // "/paylink list"
	CommandStatus                    // "/paylink status <reference or intent id>"
	CommandCancel                    // "/paylink cancel <reference or intent id>"
	CommandRefund                    // "/paylink refund <reference or intent id> [amount]"
)

// Command is a parsed /paylink command.
type Command struct {
	Kind CommandKind
	// Order is what CommandCreate asks for: the reference with Slack's escaping
	// undone, trimmed; Expires from --expires, 0 for Dojo's default.
	Order  flow.Order
	Target string // CommandStatus, CommandCancel, CommandRefund: a reference or an intent id
	// Refund is the rest of CommandRefund (refund.go).
	Refund RefundArgs
}

// UsageError is a command the agent must write differently. Problem names what was
// wrong, for the agent.
type UsageError struct {
	Problem string
	// Subcommand is set for a mistake in list, status or cancel: the Problem says how
	// to write it, and the usage of making a link would only confuse.
	Subcommand bool
}

func (e *UsageError) Error() string { return e.Problem }

// Message is the ephemeral answer: the problem, then the usage line and an example (or,
// for a subcommand, where to find every command).
func (e *UsageError) Message() string {
	if e.Subcommand {
		return e.Problem + "\n`/paylink help` shows every command."
	}
	return e.Problem + "\n" + slackout.Usage + "\n" + slackout.UsageExample
}

func usageErrorf(format string, args ...any) *UsageError {
	return &UsageError{Problem: fmt.Sprintf(format, args...)}
}

// slackUnescaper undoes the escaping Slack applies to a command's text. &amp; is
// replaced last in effect: strings.Replacer works left to right in one pass, so
// "&amp;lt;" becomes "&lt;" and not "<".
var slackUnescaper = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

// ParseCommand parses the text of a /paylink command: an amount and a currency, in
// either order, then the reference. The currency is a code in any letter case (GBP,
// eur) or a symbol written against the amount (£10, 10€). It returns a *UsageError
// for anything it can't accept.
func ParseCommand(text string) (Command, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return Command{Kind: CommandForm}, nil
	}
	if !utf8.ValidString(text) {
		return Command{}, &UsageError{Problem: "The command contains characters that could not be read."}
	}
	if cmd, ok, err := parseSubcommand(text); ok {
		return cmd, err
	}
	text, expires, err := cutExpires(text)
	if err != nil {
		return Command{}, err
	}
	first, rest := nextField(text)
	second, rest2 := nextField(rest)

	var amountTok, codeTok, refText string
	switch {
	case looksLikeAmount(first):
		amountTok = first
		if takesCode(first, second) {
			codeTok, refText = second, rest2
		} else {
			refText = rest
		}
	case isCurrencyWord(first) && looksLikeAmount(second):
		codeTok, amountTok, refText = first, second, rest2
	case isCurrencyWord(first) && second == "":
		return Command{}, &UsageError{Problem: "The amount is missing."}
	default:
		return Command{}, usageErrorf("%q is not an amount. Start with the amount and its currency.", clip(first))
	}

	cur, number, err := resolveCurrency(amountTok, codeTok)
	if err != nil {
		return Command{}, err
	}
	value, err := dojo.ParseAmount(number, cur)
	if err != nil {
		var ae *dojo.AmountError
		if errors.As(err, &ae) {
			return Command{}, usageErrorf("%q is not a valid amount: %s.", clip(amountTok), ae.Reason)
		}
		return Command{}, err
	}
	ref, err := parseReference(refText)
	if err != nil {
		return Command{}, err
	}
	return Command{Kind: CommandCreate, Order: flow.Order{
		Amount:    dojo.Money{Value: value, CurrencyCode: cur.Code},
		Reference: ref,
		Expires:   expires,
	}}, nil
}

// parseSubcommand recognises help, list, status and cancel. A command that creates a
// link starts with an amount, a currency code or a currency sign, none of which can be
// one of these words, so the two can't be confused.
func parseSubcommand(text string) (Command, bool, error) {
	word, rest := nextField(text)
	switch strings.ToLower(word) {
	case "help":
		return Command{Kind: CommandHelp}, true, nil
	case "list":
		if rest != "" {
			return Command{}, true, &UsageError{Problem: "`/paylink list` takes nothing after it: it lists the last 10 links asked for in this channel.", Subcommand: true}
		}
		return Command{Kind: CommandList}, true, nil
	case "refund":
		return parseRefund(rest)
	case "status", "cancel":
		kind := CommandStatus
		if strings.EqualFold(word, "cancel") {
			kind = CommandCancel
		}
		target := strings.TrimSpace(slackUnescaper.Replace(rest))
		if target == "" {
			return Command{}, true, &UsageError{Problem: fmt.Sprintf("Say which link: `/paylink %s <reference or intent id>`.", strings.ToLower(word)), Subcommand: true}
		}
		if n := len(utf16.Encode([]rune(target))); n > 100 {
			return Command{}, true, &UsageError{Problem: fmt.Sprintf("%q is not a reference or an intent id.", clip(target)), Subcommand: true}
		}
		return Command{Kind: kind, Target: target}, true, nil
	}
	return Command{}, false, nil
}

// cutExpires takes "--expires 24h" (or "--expires=24h") off the end of text. The
// option is accepted once, as its own words, at the end: anywhere else (inside the
// reference, twice, before the amount) it is an error, so the reference is never
// silently cut short. The duration is a whole number of minutes (m), hours (h) or days
// (d), from 15 minutes to 30 days.
func cutExpires(text string) (string, time.Duration, error) {
	at := expiresAt(text)
	switch len(at) {
	case 0:
		return text, 0, nil
	case 1:
	default:
		return "", 0, errMisplacedExpires
	}
	fields := strings.Fields(strings.ToLower(text))
	last := len(fields) - 1
	var value string
	switch {
	case strings.HasPrefix(fields[last], "--expires="):
		value = strings.TrimPrefix(fields[last], "--expires=")
	case fields[last] == "--expires":
		return "", 0, &UsageError{Problem: "`--expires` needs a duration, like `--expires 24h` or `--expires 7d`."}
	case last >= 1 && fields[last-1] == "--expires":
		value = fields[last]
	default:
		return "", 0, errMisplacedExpires
	}
	if value == "" {
		return "", 0, &UsageError{Problem: "`--expires` needs a duration, like `--expires 24h` or `--expires 7d`."}
	}
	d, err := parseExpiry(value)
	if err != nil {
		return "", 0, err
	}
	// The option is the only "--expires" in the text and starts a word: everything
	// before it is the command, with the reference's own spacing.
	return strings.TrimSpace(text[:at[0]]), d, nil
}

// expiresAt returns the byte offsets in text of "--expires" in any letter case.
// (Lower-casing the text first could move them: some letters change length.)
func expiresAt(text string) []int {
	const opt = "--expires"
	var at []int
	for i := 0; i+len(opt) <= len(text); i++ {
		if text[i] == '-' && strings.EqualFold(text[i:i+len(opt)], opt) {
			at = append(at, i)
		}
	}
	return at
}

// errMisplacedExpires refuses an --expires anywhere but once at the end.
var errMisplacedExpires = &UsageError{Problem: "`--expires` goes once, at the end, as its own words: `/paylink 10.00 GBP ref-123 --expires 24h`."}

// parseExpiry reads "90m", "24h" or "7d".
func parseExpiry(s string) (time.Duration, error) {
	bad := usageErrorf("%q is not a duration `--expires` takes: write minutes, hours or days, like `90m`, `24h` or `7d`.", clip(s))
	if len(s) < 2 || len(s) > 6 {
		return 0, bad
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n <= 0 || !allASCIIDigits(s[:len(s)-1]) {
		return 0, bad
	}
	var unit time.Duration
	switch s[len(s)-1] {
	case 'm':
		unit = time.Minute
	case 'h':
		unit = time.Hour
	case 'd':
		unit = 24 * time.Hour
	default:
		return 0, bad
	}
	d := time.Duration(n) * unit
	if d < flow.MinExpiry || d > flow.MaxExpiry {
		return 0, usageErrorf("`--expires %s` is out of range: a link can last from 15 minutes to 30 days.", s)
	}
	return d, nil
}

func allASCIIDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isASCIIDigitByte(s[i]) {
			return false
		}
	}
	return true
}

// nextField splits off the first whitespace-separated field of s and returns it with
// the rest, whose leading space is trimmed.
func nextField(s string) (string, string) {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	i := strings.IndexFunc(s, unicode.IsSpace)
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimLeftFunc(s[i:], unicode.IsSpace)
}

// looksLikeAmount reports whether tok is meant as an amount: it starts with a digit
// (of any script, so look-alike digits are refused with a clear reason), a sign, a
// point or comma, a currency symbol or a currency code followed by a digit, or it is a
// word like NaN or Inf.
func looksLikeAmount(tok string) bool {
	if tok == "" {
		return false
	}
	r, _ := utf8.DecodeRuneInString(tok)
	switch {
	case unicode.IsDigit(r), strings.ContainsRune("+-.,£€$¥", r):
		return true
	case len(tok) > 3 && isCurrencyWord(tok[:3]) && isASCIIDigitByte(tok[3]):
		return true
	}
	switch strings.ToLower(tok) {
	case "nan", "inf", "infinity":
		return true
	}
	return false
}

// takesCode reports whether word, after the amount tok, is the amount's currency code
// rather than the start of the reference. When the amount already names its currency
// (£10, 10GBP), only an accepted code is taken, so "£10 ref" keeps "ref" as the
// reference; otherwise any three letters are, so "10 USD x" is refused for its currency.
func takesCode(tok, word string) bool {
	if !isCurrencyWord(word) {
		return false
	}
	if strings.ContainsAny(tok, "£€$¥") || strings.ContainsFunc(tok, unicode.IsLetter) {
		_, ok := dojo.LookupCurrency(word)
		return ok
	}
	return true
}

// isCurrencyWord reports whether tok is written like a currency code: three letters.
func isCurrencyWord(tok string) bool {
	if len(tok) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		c := tok[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// resolveCurrency finds the currency of an amount token and a code token (either may
// hold it; both may, if they agree) and returns the bare number.
func resolveCurrency(amountTok, codeTok string) (dojo.Currency, string, error) {
	accepted := strings.Join(dojo.CurrencyCodes(), " or ")
	number := amountTok
	var bySymbol, byCode *dojo.Currency
	for _, sym := range []string{"£", "€", "$", "¥"} {
		var found bool
		if n, ok := strings.CutPrefix(number, sym); ok {
			number, found = n, true
		} else if n, ok := strings.CutSuffix(number, sym); ok {
			number, found = n, true
		}
		if !found {
			continue
		}
		c, ok := dojo.CurrencyForSymbol(sym)
		if !ok {
			return dojo.Currency{}, "", usageErrorf("Payment links can be made in %s only; %s is not one of them.", accepted, sym)
		}
		bySymbol = &c
		break
	}
	if bySymbol == nil && codeTok == "" && len(number) > 3 {
		// A code written against the amount: "10GBP", "gbp10".
		if tail := number[len(number)-3:]; isCurrencyWord(tail) && isASCIIDigitByte(number[len(number)-4]) {
			number, codeTok = number[:len(number)-3], tail
		} else if head := number[:3]; isCurrencyWord(head) && isASCIIDigitByte(number[3]) {
			number, codeTok = number[3:], head
		}
	}
	if strings.ContainsAny(number, "£€$¥") {
		return dojo.Currency{}, "", usageErrorf("%q is not a valid amount: write the currency once.", clip(amountTok))
	}
	if codeTok != "" {
		c, ok := dojo.LookupCurrency(codeTok)
		if !ok {
			return dojo.Currency{}, "", usageErrorf("Payment links can be made in %s only; %s is not one of them.", accepted, strings.ToUpper(codeTok))
		}
		byCode = &c
	}
	switch {
	case bySymbol != nil && byCode != nil && bySymbol.Code != byCode.Code:
		return dojo.Currency{}, "", usageErrorf("The amount %s and the currency %s disagree: write one currency.", clip(amountTok), byCode.Code)
	case bySymbol != nil:
		return *bySymbol, number, nil
	case byCode != nil:
		return *byCode, number, nil
	}
	return dojo.Currency{}, "", usageErrorf("The currency is missing: write %s after the amount.", accepted)
}

// parseReference undoes Slack's escaping and checks the reference Dojo will show the
// customer: 1–60 characters, no control, invisible or direction-changing characters.
func parseReference(s string) (string, error) {
	return checkReference(slackUnescaper.Replace(s))
}

// checkReference checks a reference as typed (no Slack escaping to undo).
func checkReference(s string) (string, error) {
	ref := strings.TrimSpace(s)
	if ref == "" {
		return "", &UsageError{Problem: "The reference is missing: add one after the currency, such as an order number."}
	}
	for _, r := range ref {
		if hiddenRune(r) {
			return "", usageErrorf("The reference contains an invisible or control character (U+%04X); type it again as plain text.", r)
		}
	}
	if n := len(utf16.Encode([]rune(ref))); n > MaxReferenceLen {
		return "", usageErrorf("The reference is %d characters long; Dojo takes at most %d.", n, MaxReferenceLen)
	}
	return ref, nil
}

// hiddenRune reports characters a reference must not carry: controls (newlines and
// tabs too: the reference is one line), format characters such as zero-width spaces
// and bidirectional overrides that disguise text, and unassigned code points.
func hiddenRune(r rune) bool {
	switch {
	case unicode.IsControl(r), unicode.In(r, unicode.Cf, unicode.Co, unicode.Zl, unicode.Zp), r == utf8.RuneError:
		return true
	case unicode.IsSpace(r):
		return false
	}
	return !unicode.IsPrint(r)
}

func isASCIIDigitByte(c byte) bool { return c >= '0' && c <= '9' }

// clip shortens what a user typed before it is quoted back, so a rejection stays
// short, and escapes what mrkdwn would act on.
func clip(s string) string {
	if utf8.RuneCountInString(s) > 24 {
		s = string([]rune(s)[:24]) + "…"
	}
	return strings.NewReplacer("<", "&lt;", ">", "&gt;").Replace(s)
}
