package store_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/paylink/paylink/store"
)

func london(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestCountersCountEachChangeOnce saves links and records their statuses, with
// redeliveries, partial refunds (from Slack and from Dojo's dashboard) and a reversal,
// on a clock that crosses midnight in London, and checks each day's counters are
// exact: the refunded amount is the money returned.
func TestCountersCountEachChangeOnce(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			prefix := uniquePrefix(t)
			loc := london(t)
			// 23:30 in London on 29 November (GMT): still the 29th, though 23:30 UTC too.
			now := time.Date(2026, 11, 29, 23, 30, 0, 0, loc)
			s := store.New(b.rdb, store.Options{Prefix: prefix, Location: loc, Now: func() time.Time { return now }})

			link := func(id, user, cur string, amount int64) store.Link {
				l := sampleLink(id)
				l.UserID, l.Currency, l.Amount, l.CreatedAt = user, cur, amount, now
				l.Reference = id
				return l
			}
			links := []store.Link{
				link("pi_a", "U1", "GBP", 1000),
				link("pi_b", "U1", "GBP", 250),
				link("pi_c", "U2", "EUR", 700),
				link("pi_d", "U2", "GBP", 99),
			}
			for _, l := range links {
				if err := s.SaveLink(ctx, l, nil, time.Minute); err != nil {
					t.Fatal(err)
				}
			}
			// Saving a record again (rebuilt from Dojo's metadata) counts nothing.
			if err := s.SaveLink(ctx, links[0], nil, time.Minute); err != nil {
				t.Fatal(err)
			}
			origin := func(l store.Link) store.Origin {
				return store.Origin{Team: l.TeamID, Reference: l.Reference, User: l.UserID, Currency: l.Currency, Amount: l.Amount}
			}
			record := func(l store.Link, status, event string) {
				t.Helper()
				if _, err := s.RecordStatus(ctx, store.StatusEvent{IntentID: l.IntentID, Status: status, EventID: event,
					Source: "webhook", Origin: origin(l)}); err != nil {
					t.Fatal(err)
				}
			}
			record(links[0], "Captured", "e1")
			record(links[0], "Captured", "e1-again") // redelivered: counted once
			record(links[2], "Captured", "e2")
			record(links[3], "Canceled", "e3")
			// Past midnight in London: the next day's counters.
			now = now.Add(time.Hour)
			record(links[1], store.StatusExpired, "e4")
			// pi_a: £3.00 then £1.50 refunded from Slack, then Dojo reports £6.00 in all
			// (£1.50 more made in its dashboard): £6.00 returned, one link refunded.
			for i, amount := range []int64{300, 150} {
				r := store.Refund{Key: fmt.Sprintf("k%d", i), Kind: store.KindRefund, Amount: amount, User: "U1", At: now}
				if res, err := s.ReserveRefund(ctx, "pi_a", r); err != nil || !res.Reserved {
					t.Fatalf("reserve %d: %+v, %v", amount, res, err)
				}
				if ok, err := s.CompleteRefund(ctx, "pi_a", r, "Refunded"); err != nil || !ok {
					t.Fatalf("complete %d: %v, %v", amount, ok, err)
				}
			}
			record(links[0], "Refunded", "e5")
			record(links[0], "Refunded", "e5-again")
			for _, reported := range []int64{450, 600, 600, 500} { // again, or less: nothing more
				if err := s.NoteDojoRefunded(ctx, "pi_a", reported); err != nil {
					t.Fatal(err)
				}
			}
			// pi_c reversed: all of its €7.00 returned, once.
			record(links[2], "Reversed", "e7")
			record(links[2], "Reversed", "e7-again")
			record(links[1], "Created", "e6") // not counted

			got, err := s.DayTotals(ctx, "T1", "2026-11-29", "2026-11-30", "2026-12-01")
			if err != nil {
				t.Fatal(err)
			}
			want := []store.Totals{
				{
					Kinds: map[string]store.Sums{
						store.KindCreated:  {"GBP": {Count: 3, Amount: 1349}, "EUR": {Count: 1, Amount: 700}},
						store.KindPaid:     {"GBP": {Count: 1, Amount: 1000}, "EUR": {Count: 1, Amount: 700}},
						store.KindCanceled: {"GBP": {Count: 1, Amount: 99}},
					},
					Agents: map[string]store.Sums{
						"U1": {"GBP": {Count: 1, Amount: 1000}},
						"U2": {"EUR": {Count: 1, Amount: 700}},
					},
				},
				{
					Kinds: map[string]store.Sums{
						store.KindExpired:  {"GBP": {Count: 1, Amount: 250}},
						store.KindRefunded: {"GBP": {Count: 1, Amount: 600}, "EUR": {Count: 1, Amount: 700}},
					},
					Agents: map[string]store.Sums{},
				},
				{Kinds: map[string]store.Sums{}, Agents: map[string]store.Sums{}},
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("DayTotals =\n%+v\nwant\n%+v", got, want)
			}

			sum, err := s.RangeTotals(ctx, "T1", "2026-11-29", "2026-11-30")
			if err != nil {
				t.Fatal(err)
			}
			if g := sum.Of(store.KindPaid)["GBP"]; g != (store.Total{Count: 1, Amount: 1000}) {
				t.Errorf("range paid GBP = %+v", g)
			}
			if g := sum.Of(store.KindRefunded)["GBP"]; g != (store.Total{Count: 1, Amount: 600}) {
				t.Errorf("range refunded GBP = %+v", g)
			}

			teams, err := s.DayTeams(ctx, "2026-11-29")
			if err != nil || !reflect.DeepEqual(teams, []string{"T1"}) {
				t.Errorf("DayTeams = %v, %v; want [T1]", teams, err)
			}
			for _, key := range []string{prefix + "{events}:day:T1:2026-11-29", prefix + "{events}:day:T1:2026-11-29:agents", prefix + "{events}:days:2026-11-29"} {
				ttl := b.rdb.PTTL(ctx, key).Val()
				if ttl < 399*24*time.Hour || ttl > store.CounterTTL {
					t.Errorf("TTL of %s = %v, want about 400 days", key, ttl)
				}
			}
		})
	}
}

// TestCountersNeedTheOrigin: a status recorded without the link's workspace and
// currency is recorded, and counted nowhere.
func TestCountersNeedTheOrigin(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := store.New(b.rdb, store.Options{Prefix: uniquePrefix(t)})
			ch, err := s.RecordStatus(ctx, store.StatusEvent{IntentID: "pi_x", Status: "Captured", EventID: "e", Source: "webhook"})
			if err != nil || !ch.Recorded {
				t.Fatalf("RecordStatus = %+v, %v", ch, err)
			}
			teams, err := s.DayTeams(ctx, s.Day(time.Now()))
			if err != nil || len(teams) != 0 {
				t.Errorf("DayTeams = %v, %v; want none", teams, err)
			}
		})
	}
}

func TestDaysBetween(t *testing.T) {
	tests := []struct {
		first, last string
		want        []string
		bad         bool
	}{
		{"2026-11-29", "2026-11-29", []string{"2026-11-29"}, false},
		{"2026-02-27", "2026-03-02", []string{"2026-02-27", "2026-02-28", "2026-03-01", "2026-03-02"}, false},
		{"2026-03-28", "2026-03-30", []string{"2026-03-28", "2026-03-29", "2026-03-30"}, false}, // across the clocks going forward
		{"2026-11-30", "2026-11-29", nil, true},
		{"2026-11-31", "2026-12-01", nil, true},
		{"29/11/2026", "2026-12-01", nil, true},
		{"2024-01-01", "2026-01-01", nil, true}, // longer than the counters are kept
	}
	for _, tt := range tests {
		got, err := store.DaysBetween(tt.first, tt.last)
		if (err != nil) != tt.bad || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("DaysBetween(%q, %q) = %v, %v; want %v (error: %v)", tt.first, tt.last, got, err, tt.want, tt.bad)
		}
	}
}
