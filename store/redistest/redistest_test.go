package redistest_test

import (
	"context"
	"os"
	"testing"

	"github.com/paylink/paylink/store/redistest"
)

// TestSingleAOFSurvivesKill: a server started with AOF (fsync always) keeps a write
// across SIGKILL and Restart.
func TestSingleAOFSurvivesKill(t *testing.T) {
	if os.Getenv("REDIS_URL") == "" {
		t.Skip("REDIS_URL is not set: this test starts its own redis-server and runs with the real-Redis suite (CI sets it)")
	}
	s := redistest.StartSingle(t, redistest.SingleOptions{AOF: true, Fsync: "always", Password: "pw-aof"})
	ctx := context.Background()
	c := s.Client()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.Kill(t)
	if s.Running() {
		t.Fatal("still running after Kill")
	}
	s.Restart(t)
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("after restart: %q, %v; want the write kept", v, err)
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
}
