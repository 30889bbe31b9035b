package flow

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"

	"github.com/paylink/paylink/bot/payments"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/dojo/dojotest"
)

// TestFindTimedOutFollowsPages: after a create that timed out, the intent is found by
// its nonce wherever it is in Dojo's search results, following the after cursor.
func TestFindTimedOutFollowsPages(t *testing.T) {
	const key = "sk_sandbox_find_timed_out"
	tests := []struct {
		name  string
		newer int // intents created after the one sought, listed before it
		want  bool
	}{
		{"first page", 0, true},
		{"second page", 150, true},
		{"third page", 230, true},
		{"past the pages read", maxSearchPages*100 + 20, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := dojotest.NewServer(t, dojotest.WithAPIKey(key))
			start := time.Now().UTC()
			nonce := "nonce-" + tt.name
			add := func(i int, meta map[string]string) {
				at := start.Add(time.Duration(i) * time.Millisecond)
				srv.AddIntent(dojo.PaymentIntent{ID: fmt.Sprintf("pi_sandbox_%05d", i), Status: dojo.StatusCreated,
					Amount: dojo.Money{Value: 100, CurrencyCode: "GBP"}, Reference: "r", Metadata: meta, CreatedAt: at, UpdatedAt: at})
			}
			add(0, map[string]string{payments.MetaNonce: nonce})
			for i := 1; i <= tt.newer; i++ {
				add(i, map[string]string{payments.MetaNonce: fmt.Sprint("other-", i)})
			}
			clock := clockwork.NewFakeClockAt(start)
			autoAdvance(t, clock)
			s := New(Deps{Dojo: dojo.NewClient(dojo.Config{BaseURL: srv.URL, APIKey: key}), Clock: clock})
			got := s.findTimedOut(context.Background(), zerolog.Nop(), nonce, start)
			if (got != nil) != tt.want || got != nil && got.ID != "pi_sandbox_00000" {
				t.Errorf("findTimedOut with %d newer intents = %+v, want found: %v", tt.newer, got, tt.want)
			}
			if n := len(srv.Requests()); n > 3*maxSearchPages {
				t.Errorf("%d searches, want at most %d", n, 3*maxSearchPages)
			}
		})
	}
}
