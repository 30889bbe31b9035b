package payments_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/paylink/paylink/bot/payments"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/store"
)

// TestNoticeWaitsForTheCard: a payment whose notice is handled while its link's card is
// still being posted (the record is made before the card, the card's ts recorded
// after) waits for the card, then goes in its thread and the card shows it; a card that
// never comes (its process died) holds the notice only CardWait, then the notice goes
// out on its own.
func TestNoticeWaitsForTheCard(t *testing.T) {
	const cardTS = "1700000000.0001"
	tests := []struct {
		name       string
		posted     bool // the card's ts is recorded while the notice waits
		wantThread string
	}{
		{"card posted meanwhile", true, cardTS},
		{"card never posted", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newDueFixture(t, payments.DueConfig{})
			ctx := context.Background()
			const id = "pi_sandbox_early"
			now := f.clock.Now().UTC()
			f.dojo.AddIntent(dojo.PaymentIntent{ID: id, Status: dojo.StatusCaptured, Amount: dojo.Money{Value: 1000, CurrencyCode: "GBP"},
				Reference: "ref-early", CreatedAt: now})
			l := store.Link{IntentID: id, TeamID: "T1", ChannelID: "C1", UserID: "U1", Amount: 1000, Currency: "GBP",
				Reference: "ref-early", Status: "Created", CreatedAt: now, ExpiresAt: now.Add(time.Hour), CardPending: true}
			if err := f.st.SaveLink(ctx, l, nil, 0); err != nil {
				t.Fatal(err)
			}
			if _, err := f.st.RecordStatus(ctx, store.StatusEvent{IntentID: id, Status: "Captured", EventID: "evt_early", Source: "webhook"}); err != nil {
				t.Fatal(err)
			}
			f.runNotifier(t, payments.NotifyConfig{Workers: 1, RetryBase: 200 * time.Millisecond, CardWait: 30 * time.Second})

			waitUntil(t, "the notice is held for the card", func() bool {
				b, _ := f.st.Backlog(ctx)
				return b.Scheduled == 1
			})
			for range 10 { // ten seconds on the notifier's clock: still held
				f.clock.Advance(time.Second)
				time.Sleep(10 * time.Millisecond)
			}
			if posts := f.slack.Calls("chat.postMessage"); len(posts) != 0 {
				t.Fatalf("posted %+v while the card was being posted", posts)
			}
			if tt.posted {
				if err := f.st.LinkPosted(ctx, id, "C1", cardTS, store.AuditEvent{Event: "created", Intent: id}); err != nil {
					t.Fatal(err)
				}
			}
			waitUntil(t, "the Paid notice", func() bool {
				f.clock.Advance(time.Second)
				return len(f.slack.Calls("chat.postMessage")) > 0
			})
			posts := f.slack.Calls("chat.postMessage")
			if len(posts) != 1 || !strings.Contains(posts[0].Text, "Paid") || posts[0].ThreadTS != tt.wantThread {
				t.Fatalf("posts %+v, want one Paid notice in thread %q", posts, tt.wantThread)
			}
			if tt.posted {
				waitUntil(t, "the card shows it", func() bool {
					up := f.slack.Calls("chat.update")
					return len(up) == 1 && up[0].TS == cardTS && strings.Contains(string(up[0].Blocks), "Paid")
				})
			} else if f.clock.Since(now) < 30*time.Second {
				t.Errorf("posted on its own %v after the link was made, before CardWait", f.clock.Since(now))
			}
		})
	}
}
