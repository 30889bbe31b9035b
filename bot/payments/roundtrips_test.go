package payments_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paylink/paylink/bot/payments"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/store"
	"github.com/paylink/paylink/store/redistest"
)

// TestNoticeRecordedWithItsAudit: a posted notice's record and its audit event go to
// Redis in one round trip.
func TestNoticeRecordedWithItsAudit(t *testing.T) {
	f := newDueFixture(t, payments.DueConfig{})
	ctx := context.Background()
	const id = "pi_sandbox_rt"
	f.link(t, id, "ref-rt", time.Hour)
	f.dojo.SetStatus(id, dojo.StatusCaptured)
	if _, err := f.st.RecordStatus(ctx, store.StatusEvent{IntentID: id, Status: "Captured", EventID: "evt_rt", Source: "webhook"}); err != nil {
		t.Fatal(err)
	}
	seen := &redistest.RoundTrips{}
	f.rdb.AddHook(seen)
	f.runNotifier(t, payments.NotifyConfig{Workers: 1})

	waitUntil(t, "the card shows Paid", func() bool { return len(f.slack.Calls("chat.update")) == 1 })
	events, _ := f.st.AuditSince(ctx, time.Unix(0, 0))
	paid := slices.DeleteFunc(events, func(e store.AuditEvent) bool { return e.Event != "paid" })
	if len(paid) != 1 || paid[0].Intent != id || paid[0].Amount != 1000 {
		t.Fatalf("audit = %+v, want one paid event", events)
	}
	var record, xadds []string
	for _, c := range seen.List() {
		if strings.Contains(c, "eval") {
			record = append(record, c)
		}
		if strings.Contains(c, "xadd") {
			xadds = append(xadds, c)
		}
	}
	if len(record) != 1 || len(xadds) != 1 || record[0] != xadds[0] {
		t.Errorf("the notice's record in %q and its audit event in %q, want one round trip with both (all: %q)", record, xadds, seen.List())
	}
}
