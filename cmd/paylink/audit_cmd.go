package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/store"
)

const auditUsage = `usage: paylink audit [--since 24h]

Prints the audit trail as CSV, oldest first: the money events (links created,
canceled, paid, refunded, reversed, expired) and the refusals, merged in time order.
A cell a spreadsheet would run as a formula starts with '. Needs REDIS_URL (and
PAYLINK_REDIS_PREFIX when it is not the default): an embedded Redis lives only inside
the paylink process that runs it.
`

// runAudit prints the audit trail as CSV: paylink audit [--since 24h].
func runAudit(ctx context.Context, args []string, lookup func(string) (string, bool), stdout io.Writer) error {
	fs := newSubcommandFlags("audit", auditUsage, stdout)
	since := fs.String("since", "24h", "how far back: a duration like 90m, 24h or 7d")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	d, err := parseSince(*since)
	if err != nil {
		return usageError(fs, "%v", err)
	}
	raw, _ := lookup("REDIS_URL")
	if strings.TrimSpace(raw) == "" {
		return errors.New("audit needs REDIS_URL: an embedded Redis lives only inside the paylink process that runs it")
	}
	rc, err := store.ParseRedisURL(raw)
	if err != nil {
		return err
	}
	rdb := rc.NewClient()
	defer rdb.Close()
	prefix, ok := lookup("PAYLINK_REDIS_PREFIX")
	if !ok || prefix == "" {
		prefix = store.DefaultPrefix
	}
	events, err := store.New(rdb, store.Options{Prefix: prefix}).AuditSince(ctx, time.Now().Add(-d))
	if err != nil {
		return err
	}
	return writeAuditCSV(stdout, events)
}

// parseSince reads a duration, with days allowed ("7d").
func parseSince(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 {
			return 0, fmt.Errorf("--since %q: write a duration like 90m, 24h or 7d", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("--since %q: write a duration like 90m, 24h or 7d", s)
	}
	return d, nil
}

// writeAuditCSV writes events as CSV. Cells are guarded against spreadsheet formula
// injection: a value starting with =, +, -, @, tab or CR gets a leading apostrophe.
func writeAuditCSV(w io.Writer, events []store.AuditEvent) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"time", "event", "team", "channel", "user", "amount", "currency", "reference", "intent", "detail"})
	for _, e := range events {
		amount := ""
		if e.Currency != "" {
			amount = strings.TrimLeft(dojo.Money{Value: e.Amount, CurrencyCode: e.Currency}.String(), "£€")
			amount = strings.ReplaceAll(amount, ",", "")
		}
		row := []string{e.At.UTC().Format(time.RFC3339Nano), e.Event, e.Team, e.Channel, e.User, amount, e.Currency, e.Reference, e.Intent, e.Detail}
		for i, cell := range row {
			row[i] = defuse(cell)
		}
		cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}

func defuse(cell string) string {
	if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
		return "'" + cell
	}
	return cell
}
