package payments

import (
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"
)

// TestReclaimWaitsOutARecordAttempt: after a Redis failure, notices held by silent
// consumers are taken over only once Redis has worked here for as long as another
// consumer may still be in an attempt to record a notice it posted meanwhile, with its
// pause before the next, and ClaimIdle more: a notice taken over while its poster is
// still recording it is posted twice.
func TestReclaimWaitsOutARecordAttempt(t *testing.T) {
	tests := []struct {
		claimIdle, quiet time.Duration
	}{
		{time.Second, recordTimeout + 250*time.Millisecond + time.Second},
		{10 * time.Second, recordTimeout + time.Second + 10*time.Second}, // the default
		{2 * time.Second, recordTimeout + 500*time.Millisecond + 2*time.Second},
	}
	for _, tt := range tests {
		clock := clockwork.NewFakeClock()
		n := NewNotifier(Deps{Log: zerolog.Nop(), Clock: clock, Notify: NotifyConfig{ClaimIdle: tt.claimIdle}})
		if !n.mayReclaim() {
			t.Fatalf("ClaimIdle %v: no Redis failure yet, and no take-over allowed", tt.claimIdle)
		}
		n.redisFailed()
		clock.Advance(tt.quiet - time.Millisecond)
		if n.mayReclaim() {
			t.Errorf("ClaimIdle %v: take-over allowed %v after a Redis failure, want %v", tt.claimIdle, tt.quiet-time.Millisecond, tt.quiet)
		}
		clock.Advance(time.Millisecond)
		if !n.mayReclaim() {
			t.Errorf("ClaimIdle %v: take-over still refused %v after a Redis failure", tt.claimIdle, tt.quiet)
		}
	}
}
