package slackin

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/paylink/paylink/bot/flow"
	"github.com/paylink/paylink/bot/slackout"
	"github.com/paylink/paylink/dojo"
)

func TestParseCommandAccepts(t *testing.T) {
	gbp := func(v int64) dojo.Money { return dojo.Money{Value: v, CurrencyCode: "GBP"} }
	eur := func(v int64) dojo.Money { return dojo.Money{Value: v, CurrencyCode: "EUR"} }
	tests := []struct {
		text   string
		amount dojo.Money
		ref    string
	}{
		{"10.00 GBP ref-123", gbp(1000), "ref-123"},
		{"10 GBP ref-123", gbp(1000), "ref-123"},
		{"10.5 GBP ref-123", gbp(1050), "ref-123"},
		{"0.01 GBP a", gbp(1), "a"},
		{"1,250.00 GBP ref", gbp(125000), "ref"},
		{"1,250 GBP ref", gbp(125000), "ref"},
		{"1,000,000 EUR big", eur(100000000), "big"},
		{"£10 ref-123", gbp(1000), "ref-123"},
		{"€10 ref-123", eur(1000), "ref-123"},
		{"10£ ref", gbp(1000), "ref"},
		{"10€ ref", eur(1000), "ref"},
		{"£10 GBP ref", gbp(1000), "ref"},
		{"GBP 10 ref-123", gbp(1000), "ref-123"},
		{"gbp 10 ref-123", gbp(1000), "ref-123"},
		{"10 gbp ref-123", gbp(1000), "ref-123"},
		{"10 Eur ref-123", eur(1000), "ref-123"},
		{"EUR £10 ref", dojo.Money{}, ""}, // conflict: see rejects
		{"10GBP ref", gbp(1000), "ref"},
		{"eur10 ref", eur(1000), "ref"},
		{"25 EUR Order 236", eur(2500), "Order 236"},
		{"  10   GBP   Order   236  ", gbp(1000), "Order   236"},
		{"010.50 GBP ref", gbp(1050), "ref"},
		{"10 GBP &lt;!channel&gt; &amp; co", gbp(1000), "<!channel> & co"},
		{"10 GBP &amp;lt;", gbp(1000), "&lt;"},
		{"10 GBP Zoë’s café ☕", gbp(1000), "Zoë’s café ☕"},
		{"10 GBP " + strings.Repeat("x", 60), gbp(1000), strings.Repeat("x", 60)},
		{"10 GBP " + strings.Repeat("é", 60), gbp(1000), strings.Repeat("é", 60)},
		{"10000 GBP max", gbp(1000000), "max"},
		{"92233720368547758.07 GBP huge", gbp(9223372036854775807), "huge"},
		{"10\u00a0GBP\u00a0ref", gbp(1000), "ref"},
	}
	for _, tt := range tests {
		if tt.ref == "" {
			continue
		}
		t.Run(tt.text, func(t *testing.T) {
			cmd, err := ParseCommand(tt.text)
			if err != nil {
				t.Fatalf("ParseCommand(%q): %v", tt.text, err)
			}
			if cmd.Kind != CommandCreate || cmd.Order.Amount != tt.amount || cmd.Order.Reference != tt.ref {
				t.Errorf("ParseCommand(%q) = %+v, want %v %q", tt.text, cmd, tt.amount, tt.ref)
			}
		})
	}
}

func TestParseSubcommands(t *testing.T) {
	tests := []struct {
		text   string
		kind   CommandKind
		target string
	}{
		{"", CommandForm, ""},
		{"   ", CommandForm, ""},
		{"help", CommandHelp, ""},
		{"HELP", CommandHelp, ""},
		{" Help ", CommandHelp, ""},
		{"help me", CommandHelp, ""},
		{"list", CommandList, ""},
		{"LIST", CommandList, ""},
		{"status ref-123", CommandStatus, "ref-123"},
		{"status Order 236", CommandStatus, "Order 236"},
		{"Status pi_sandbox_abc", CommandStatus, "pi_sandbox_abc"},
		{"cancel ref-123", CommandCancel, "ref-123"},
		{"cancel &lt;odd&gt;", CommandCancel, "<odd>"},
	}
	for _, tt := range tests {
		cmd, err := ParseCommand(tt.text)
		if err != nil || cmd.Kind != tt.kind || cmd.Target != tt.target {
			t.Errorf("ParseCommand(%q) = %+v, %v; want kind %d target %q", tt.text, cmd, err, tt.kind, tt.target)
		}
	}
	for _, bad := range []string{"status", "cancel  ", "list everything"} {
		if _, err := ParseCommand(bad); err == nil {
			t.Errorf("ParseCommand(%q) accepted", bad)
		}
	}
}

func TestParseExpires(t *testing.T) {
	tests := []struct {
		text    string
		expires time.Duration
		ref     string
		err     string
	}{
		{"10 GBP ref-1 --expires 24h", 24 * time.Hour, "ref-1", ""},
		{"10 GBP ref-1 --expires=7d", 7 * 24 * time.Hour, "ref-1", ""},
		{"--expires=7d 10 GBP ref-1", 0, "", "goes once, at the end"},
		{"10 GBP INV-7--expires 7d --expires 24h", 0, "", "goes once, at the end"},
		{"10 GBP INV-7--expires 24h", 0, "", "goes once, at the end"},
		{"10 GBP ref --expires 24h --expires 7d", 0, "", "goes once, at the end"},
		{"10 GBP ref --expires 24h extra words", 0, "", "goes once, at the end"},
		{"10 GBP ref --expires=", 0, "", "needs a duration"},
		{"10 GBP İstanbul ȺȾ --expires 24h", 24 * time.Hour, "İstanbul ȺȾ", ""},
		{"10 GBP Order  236 --EXPIRES 90m", 90 * time.Minute, "Order  236", ""},
		{"10 GBP ref --expires 30d", 30 * 24 * time.Hour, "ref", ""},
		{"10 GBP ref --expires 31d", 0, "", "15 minutes to 30 days"},
		{"10 GBP ref --expires 5m", 0, "", "15 minutes to 30 days"},
		{"10 GBP ref --expires", 0, "", "needs a duration"},
		{"10 GBP ref --expires 1w", 0, "", "minutes, hours or days"},
		{"10 GBP ref --expires 1.5h", 0, "", "minutes, hours or days"},
		{"10 GBP ref --expires -1h", 0, "", "minutes, hours or days"},
	}
	for _, tt := range tests {
		cmd, err := ParseCommand(tt.text)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseCommand(%q) = %+v, %v; want an error with %q", tt.text, cmd, err, tt.err)
			}
			continue
		}
		if err != nil || cmd.Order.Expires != tt.expires || cmd.Order.Reference != tt.ref {
			t.Errorf("ParseCommand(%q) = %+v, %v", tt.text, cmd, err)
		}
	}
}

func TestParseCommandRejects(t *testing.T) {
	tests := []struct {
		text string
		want string // in the problem
	}{
		{"0 GBP ref", "more than zero"},
		{"0.00 GBP ref", "more than zero"},
		{"-5 GBP ref", "more than zero"},
		{"-0.01 GBP ref", "more than zero"},
		{"+5 GBP ref", "without a sign"},
		{"10.001 GBP ref", "at most 2 decimal places"},
		{"10.5.0 GBP ref", "more than one decimal point"},
		{"10. GBP ref", "after the decimal point"},
		{".50 GBP ref", "before the decimal point"},
		{"1e3 GBP ref", "exponent"},
		{"1E3 GBP ref", "exponent"},
		{"NaN GBP ref", "not a number"},
		{"nan GBP ref", "not a number"},
		{"Inf GBP ref", "not a number"},
		{"-Inf GBP ref", "more than zero"},
		{"Infinity GBP ref", "not a number"},
		{"0x10 GBP ref", "digits"},
		{"1_000 GBP ref", "digits"},
		{"١٠ GBP ref", "digits"}, // Arabic-Indic digits
		{"１０ GBP ref", "digits"}, // full-width digits
		{"10,50 EUR ref", "point for decimals"},
		{"1,25,000 GBP ref", "thousands"},
		{"1,2500 GBP ref", "thousands"},
		{",100 GBP ref", "thousands"},
		{"99999999999999999999999 GBP ref", "too large"},
		{"92233720368547758.08 GBP ref", "too large"},
		{"10 USD ref", "GBP"},
		{"10 usd ref", "USD"},
		{"$10 ref", "$"},
		{"¥10 ref", "¥"},
		{"10 JPY ref", "JPY"},
		{"£10 EUR ref", "disagree"},
		{"£€10 ref", "once"},
		{"10 ref", "REF is not one of them"},
		{"10 order 5", "currency is missing"},
		{"10", "currency is missing"},
		{"GBP", "amount is missing"},
		{"ref-123 10 GBP", "not an amount"},
		{"ten GBP ref", "not an amount"},
		{"10 GBP", "reference is missing"},
		{"10 GBP    ", "reference is missing"},
		{"10 GBP " + strings.Repeat("x", 61), "at most 60"},
		{"10 GBP " + strings.Repeat("😀", 31), "at most 60"}, // 62 UTF-16 units
		{"10 GBP a\u200bb", "invisible"},
		{"10 GBP a\u202eb", "invisible"},
		{"10 GBP a\nb", "control"},
		{"10 GBP a\tb", "control"},
		{"10 GBP a\u2028b", "invisible"},
		{"10 GBP a\x00b", "control"},
		{"10 GBP \xff", "could not be read"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			cmd, err := ParseCommand(tt.text)
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("ParseCommand(%q) = %+v, %v; want a *UsageError", tt.text, cmd, err)
			}
			if !strings.Contains(ue.Problem, tt.want) {
				t.Errorf("problem %q lacks %q", ue.Problem, tt.want)
			}
			msg := ue.Message()
			if !strings.Contains(msg, slackout.Usage) || !strings.Contains(msg, "Example: /paylink 10.00 GBP ref-123") {
				t.Errorf("message %q lacks the usage line and example", msg)
			}
		})
	}
}

// TestRejectionsEchoNothingActive: what a user typed comes back without anything mrkdwn
// would act on.
func TestRejectionsEchoNothingActive(t *testing.T) {
	for _, text := range []string{"<!channel> GBP ref", "10 <!here> ref", "<https://x|y>10 GBP ref"} {
		_, err := ParseCommand(text)
		var ue *UsageError
		if !errors.As(err, &ue) {
			t.Fatalf("ParseCommand(%q) accepted", text)
		}
		if strings.Contains(ue.Message(), "<!") || strings.Contains(ue.Message(), "<http") {
			t.Errorf("ParseCommand(%q) message %q echoes something active", text, ue.Message())
		}
	}
}

// FuzzParseCommand checks the parser's promises on any input: it never panics; what it
// accepts is a positive amount in an accepted currency, and a reference of 1–60
// characters with no control or invisible characters; what it refuses comes with the
// usage line.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{
		"10.00 GBP ref-123", "£10 ref", "GBP 10 Order 236", "1,250.00 eur x", "10€ y",
		"1e3 GBP r", "NaN GBP r", "-1 GBP r", "10.001 GBP r", "١٠ GBP r", "help", "",
		"10 GBP &lt;!channel&gt;", "10 GBP a\u202eb", "92233720368547758.07 GBP r", "gbp10 r",
		"refund ref-123", "refund ref-123 4.00", "refund Order 236", "refund pi_sandbox_x £4", "refund r 4.001",
		"refund", "refund &lt;!channel&gt; -1", "REFUND r 1,000.50",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		cmd, err := ParseCommand(text)
		if err != nil {
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("ParseCommand(%q) error %v is not a *UsageError", text, err)
			}
			if !strings.Contains(ue.Message(), slackout.Usage) && !(ue.Subcommand && strings.Contains(ue.Message(), "/paylink help")) {
				t.Fatalf("message lacks the usage line")
			}
			return
		}
		if cmd.Kind == CommandRefund {
			if n := len(utf16.Encode([]rune(cmd.Target))); cmd.Target == "" || n > 100 || !strings.HasPrefix(cmd.Refund.Whole, cmd.Target) {
				t.Fatalf("ParseCommand(%q) accepted refund target %q (whole %q)", text, cmd.Target, cmd.Refund.Whole)
			}
		}
		if cmd.Kind != CommandCreate {
			return
		}
		if cmd.Order.Expires != 0 && (cmd.Order.Expires < flow.MinExpiry || cmd.Order.Expires > flow.MaxExpiry) {
			t.Fatalf("ParseCommand(%q) accepted expiry %v", text, cmd.Order.Expires)
		}
		if cmd.Order.Amount.Value <= 0 {
			t.Fatalf("ParseCommand(%q) accepted amount %d", text, cmd.Order.Amount.Value)
		}
		if _, ok := dojo.LookupCurrency(cmd.Order.Amount.CurrencyCode); !ok {
			t.Fatalf("ParseCommand(%q) accepted currency %q", text, cmd.Order.Amount.CurrencyCode)
		}
		n := len(utf16.Encode([]rune(cmd.Order.Reference)))
		if n < 1 || n > MaxReferenceLen || !utf8.ValidString(cmd.Order.Reference) {
			t.Fatalf("ParseCommand(%q) accepted reference %q", text, cmd.Order.Reference)
		}
		if strings.TrimSpace(cmd.Order.Reference) != cmd.Order.Reference {
			t.Fatalf("reference %q is not trimmed", cmd.Order.Reference)
		}
		for _, r := range cmd.Order.Reference {
			if hiddenRune(r) {
				t.Fatalf("reference %q holds %U", cmd.Order.Reference, r)
			}
		}
	})
}

func BenchmarkParseCommand(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseCommand("1,250.00 GBP Order 236 for Zoë"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSubcommandMistakesShowTheirOwnUsage: a mistake in list, status or cancel says how
// to write that command, not how to make a link.
func TestSubcommandMistakesShowTheirOwnUsage(t *testing.T) {
	for _, text := range []string{"status", "cancel", "list everything", "status " + strings.Repeat("x", 101)} {
		_, err := ParseCommand(text)
		var u *UsageError
		if !errors.As(err, &u) {
			t.Fatalf("ParseCommand(%q) = %v, want a usage error", text, err)
		}
		if msg := u.Message(); strings.Contains(msg, slackout.Usage) || !strings.Contains(msg, "/paylink help") {
			t.Errorf("ParseCommand(%q) answer %q: want its own usage and a pointer to help, not the create usage", text, msg)
		}
	}
}
