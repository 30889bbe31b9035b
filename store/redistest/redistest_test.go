package redistest_test

import (
	"context"
	"os"
	"testing"

	"github.com/paylink/paylink/store/redistest"
)

// TestSingleAOFSurvivesRestart: a server started with AOF (fsync always) keeps a write
// across SIGKILL and Restart, and across Stop and Start, on the same port.
func TestSingleAOFSurvivesRestart(t *testing.T) {
	if os.Getenv("REDIS_URL") == "" {
		t.Skip("REDIS_URL is not set: this test starts its own redis-server and runs with the real-Redis suite (CI sets it)")
	}
	tests := []struct {
		name string
		down func(*testing.T, *redistest.Single)
		up   func(*testing.T, *redistest.Single)
	}{
		{"kill, restart", func(t *testing.T, s *redistest.Single) { s.Kill(t) }, func(t *testing.T, s *redistest.Single) { s.Restart(t) }},
		{"stop, start", func(t *testing.T, s *redistest.Single) { s.Stop(t) }, func(t *testing.T, s *redistest.Single) { s.Start(t) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := redistest.StartSingle(t, redistest.SingleOptions{AOF: true, Fsync: "always", Password: "pw-aof"})
			if s.Port >= 32768 {
				t.Errorf("port %d is in the kernel's ephemeral range", s.Port)
			}
			ctx := context.Background()
			c := s.Client()
			if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
				t.Fatal(err)
			}
			addr := s.Addr
			tt.down(t, s)
			if s.Running() {
				t.Fatal("still running")
			}
			if err := c.Ping(ctx).Err(); err == nil {
				t.Fatal("answers PING while down")
			}
			tt.up(t, s)
			if !s.Running() || s.Addr != addr {
				t.Fatalf("after coming back: running %v on %s, want on %s", s.Running(), s.Addr, addr)
			}
			if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v" {
				t.Fatalf("after coming back: %q, %v; want the write kept", v, err)
			}
			keys, err := redistest.Keys(ctx, c, "*")
			if err != nil || len(keys) != 1 {
				t.Errorf("Keys = %v, %v", keys, err)
			}
			if err := redistest.DropPrefix(ctx, c, "k"); err != nil {
				t.Fatal(err)
			}
			if n := c.DBSize(ctx).Val(); n != 0 {
				t.Errorf("%d keys after DropPrefix", n)
			}
		})
	}
}
