package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/paylink/paylink/store/redistest"
)

// TestServeRefusesBadRedis: a malformed REDIS_URL, or one naming servers that don't
// answer, stops start-up with a message naming the problem and never the password.
func TestServeRefusesBadRedis(t *testing.T) {
	t.Parallel()
	const pw = "serve-redis-password-41f0"
	gone := miniredis.RunT(t)
	dead := gone.Addr()
	gone.Close()
	gone2 := miniredis.RunT(t)
	dead2 := gone2.Addr()
	gone2.Close()
	locked := miniredis.RunT(t)
	locked.RequireAuth(pw)
	tests := []struct {
		name string
		url  string
		want []string
	}{
		{"not a URL", "redis://:" + pw + "@[::1", []string{"REDIS_URL is not a URL"}},
		{"wrong scheme", "http://:" + pw + "@redis.example:6379", []string{"not a redis:// or rediss:// URL"}},
		{"unknown option", "redis://:" + pw + "@redis.example:6379/0?bogus=1", []string{"REDIS_URL", "unexpected option: bogus"}},
		{"bad database", "redis://:" + pw + "@redis.example:6379/zero", []string{"REDIS_URL", "database"}},
		{"server down", "redis://:" + pw + "@" + dead + "/0", []string{"Redis at redis://" + dead + "/0", "connection refused"}},
		{"wrong password", "redis://:x" + pw + "@" + locked.Addr() + "/0", []string{"Redis at redis://" + locked.Addr() + "/0", "WRONGPASS"}},
		{"Cluster nodes down", "redis://:" + pw + "@" + dead + "?cluster=true&addr=" + dead2,
			[]string{"Redis at cluster redis://" + dead + "," + dead2, "can't be written", "cluster node " + dead, "cluster node " + dead2}},
		{"sentinels down", "redis://:" + pw + "@" + dead + "/0?master_name=paylink&addr=" + dead2,
			[]string{"Redis at sentinel redis://" + dead + "," + dead2 + "/0 master paylink", "sentinel " + dead, "sentinel " + dead2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := env{
				"PORT": freePort(t), "SLACK_SIGNING_SECRET": testSigningSecret, "SLACK_BOT_TOKEN": testBotToken,
				"DOJO_API_KEY": testDojoKey, "REDIS_URL": tt.url,
			}
			var out bytes.Buffer
			done := make(chan error, 1)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() { done <- run(ctx, []string{"paylink"}, e.lookup, &out, &out) }()
			var err error
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				cancel()
				t.Fatalf("paylink started with REDIS_URL %s", tt.name)
			}
			if err == nil {
				t.Fatal("serve returned nil")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), pw) || strings.Contains(out.String(), pw) {
				t.Errorf("the password appears in the error or the log:\n%v\n%s", err, out.String())
			}
		})
	}
}

// TestCheckTopologies: paylink check reports each Cluster node and each sentinel and
// the master it names, and which one failed.
func TestCheckTopologies(t *testing.T) {
	t.Parallel()
	if os.Getenv("REDIS_URL") == "" {
		t.Skip("REDIS_URL is not set: this test starts its own redis-server topologies and runs with the real-Redis suite (CI sets it)")
	}
	base := env{"SLACK_SIGNING_SECRET": checkSigningSecret, "SLACK_BOT_TOKEN": checkBotToken, "DOJO_API_KEY": checkDojoKey}
	check := func(t *testing.T, url string) string {
		t.Helper()
		var out bytes.Buffer
		e := merge(base, env{"REDIS_URL": url, "PAYLINK_REDIS_PREFIX": testPrefix("paylinkcheck")})
		checkRedis(context.Background(), &checklist{w: &out, scrub: strings.NewReplacer()}, mustConfig(t, e), 2*time.Second)
		return out.String()
	}
	has := func(t *testing.T, out string, lines ...string) {
		t.Helper()
		for _, l := range lines {
			if !strings.Contains(out, l) {
				t.Errorf("no %q in\n%s", l, out)
			}
		}
	}
	t.Run("cluster", func(t *testing.T) {
		c := redistest.StartCluster(t, redistest.ClusterOptions{})
		out := check(t, c.URL)
		for _, n := range c.Nodes {
			has(t, out, "OK    Redis cluster node "+n.Addr+": cluster_state ok, 6 nodes, 3 masters")
		}
		has(t, out, "OK    Redis: cluster redis://")
		replica := c.ReplicasOf(t, c.Nodes[0])[0]
		replica.Kill(t)
		out = check(t, c.URL)
		has(t, out, "FAIL  Redis cluster node "+replica.Addr+": CLUSTER INFO: dial tcp "+replica.Addr,
			"OK    Redis cluster node "+c.Nodes[0].Addr, "takes writes, with 1 of its servers failing (above)")
	})
	t.Run("sentinel", func(t *testing.T) {
		s := redistest.StartSentinel(t, redistest.SentinelOptions{DownAfter: 30 * time.Second})
		master := s.Master(t)
		out := check(t, s.URL)
		for _, n := range s.Sentinels {
			has(t, out, "OK    Redis sentinel "+n.Addr+": names master "+master.Addr)
		}
		has(t, out, "OK    Redis master "+master.Addr+": answers PING as master", "OK    Redis: sentinel redis://")
		s.Sentinels[1].Kill(t)
		master.Kill(t)
		out = check(t, s.URL)
		has(t, out, "FAIL  Redis sentinel "+s.Sentinels[1].Addr+": dial tcp",
			"OK    Redis sentinel "+s.Sentinels[0].Addr+": names master "+master.Addr,
			"FAIL  Redis master "+master.Addr+": PING: dial tcp "+master.Addr,
			"FAIL  Redis: sentinel redis://")
	})
}

func mustConfig(t *testing.T, e env) config {
	t.Helper()
	cfg, _, err := loadConfig(e.lookup)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
