package payments

import (
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// TestReconcileLockTTL: a replica that dies mid-run holds the others off for 30 s at
// most, and no longer than one interval when runs are due more often.
func TestReconcileLockTTL(t *testing.T) {
	tests := []struct {
		interval, lockTTL, want time.Duration
	}{
		{0, 0, 30 * time.Second}, // the default interval, 5 min
		{time.Hour, 0, 30 * time.Second},
		{3 * time.Second, 0, 3 * time.Second},
		{100 * time.Millisecond, 0, time.Second},
		{3 * time.Second, time.Minute, time.Minute}, // set: kept
	}
	for _, tt := range tests {
		r := NewReconciler(Deps{Log: zerolog.Nop(), Reconcile: ReconcileConfig{Interval: tt.interval, LockTTL: tt.lockTTL}})
		if r.cfg.LockTTL != tt.want {
			t.Errorf("interval %v, LockTTL %v: got %v, want %v", tt.interval, tt.lockTTL, r.cfg.LockTTL, tt.want)
		}
	}
}
