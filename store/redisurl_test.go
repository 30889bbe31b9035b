package store_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/paylink/paylink/store"
)

const urlPassword = "hunter2-url-secret"

func TestParseRedisURL(t *testing.T) {
	tests := []struct {
		url   string
		topo  store.Topology
		str   string                           // the String form
		check func(redis.UniversalClient) bool // nil: none
		err   string                           // an error fragment, when the URL is bad
	}{
		{url: "redis://127.0.0.1:6379/15", topo: store.Single, str: "redis://127.0.0.1:6379/15",
			check: func(c redis.UniversalClient) bool {
				o := c.(*redis.Client).Options()
				return o.Addr == "127.0.0.1:6379" && o.DB == 15 && o.TLSConfig == nil &&
					o.DialTimeout == 2*time.Second && o.DialerRetries == 2 && o.ReadTimeout == 3*time.Second &&
					o.WriteTimeout == 3*time.Second && o.PoolTimeout == 4*time.Second
			}},
		{url: "rediss://:" + urlPassword + "@redis.example:6380/0", topo: store.Single, str: "rediss://redis.example:6380/0",
			check: func(c redis.UniversalClient) bool {
				o := c.(*redis.Client).Options()
				return o.TLSConfig != nil && o.Password == urlPassword
			}},
		{url: "redis://h:6379/0?dial_timeout=7s", topo: store.Single, str: "redis://h:6379/0",
			check: func(c redis.UniversalClient) bool { return c.(*redis.Client).Options().DialTimeout == 7*time.Second }},
		{url: "redis://:" + urlPassword + "@sentinel-a:26379/2?master_name=paylink&addr=sentinel-b:26379", topo: store.Sentinel,
			str: "sentinel redis://sentinel-a:26379,sentinel-b:26379/2 master paylink",
			check: func(c redis.UniversalClient) bool {
				o := c.(*redis.Client).Options()
				return o.Password == urlPassword && o.DB == 2 && o.DialTimeout == 2*time.Second
			}},
		{url: "redis://sentinel-a:26379/0?master_name=paylink&sentinel_password=" + urlPassword, topo: store.Sentinel,
			str: "sentinel redis://sentinel-a:26379/0 master paylink"},
		{url: "redis://:" + urlPassword + "@node-a:6379?cluster=true&addr=node-b:6379&addr=node-c:6379", topo: store.Cluster,
			str: "cluster redis://node-a:6379,node-b:6379,node-c:6379",
			check: func(c redis.UniversalClient) bool {
				o := c.(*redis.ClusterClient).Options()
				return len(o.Addrs) == 3 && o.Password == urlPassword && !o.ReadOnly && !o.RouteByLatency && !o.RouteRandomly &&
					o.ClusterStateReloadInterval == 2*time.Second && o.DialTimeout == 2*time.Second &&
					o.DialerRetries == 2 && o.ReadTimeout == 3*time.Second && o.MaxRedirects == 3
			}},
		{url: "redis://node-a:6379/0?cluster=true", topo: store.Cluster, str: "cluster redis://node-a:6379"},

		{url: "http://redis.example", err: "not a redis:// or rediss:// URL"},
		{url: "redis://:" + urlPassword + "@host:6379?bogus_option=1", err: "unexpected option"},
		{url: "redis://:" + urlPassword + "@host:port6379/0", err: "REDIS_URL"},
		{url: "redis://:" + urlPassword + "@host:6379/x", err: "database"},
		{url: "redis://:" + urlPassword + "@ho st:6379/0", err: "not a URL"},
		{url: "redis:///0", err: "names no host"},
		{url: "redis://:" + urlPassword + "@node-a:6379/3?cluster=true", err: "only database 0"},
		{url: "redis://node-a:6379?cluster=yes", err: "cluster=true"},
		{url: "redis://a:26379?master_name=m&cluster=true", err: "choose one"},
		{url: "redis://a:26379?master_name=m&addr=b", err: "addr"},
		{url: "redis://a:6379?sentinel_password=" + urlPassword, err: "master_name is not"},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.url, "/", "_"), func(t *testing.T) {
			rc, err := store.ParseRedisURL(tt.url)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one mentioning %q", err, tt.err)
				}
				if strings.Contains(err.Error(), urlPassword) {
					t.Errorf("the password appears in %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rc.Topology != tt.topo {
				t.Errorf("topology %s, want %s", rc.Topology, tt.topo)
			}
			if rc.String() != tt.str {
				t.Errorf("String() = %q, want %q", rc.String(), tt.str)
			}
			c := rc.NewClient()
			defer c.Close()
			_, isCluster := c.(*redis.ClusterClient)
			if isCluster != (tt.topo == store.Cluster) {
				t.Errorf("client %T for a %s", c, tt.topo)
			}
			if tt.check != nil && !tt.check(c) {
				t.Errorf("client options not as wanted")
			}
		})
	}
}

// deadAddr is a local address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestOpenRefuses: Open stops at a URL that is malformed or names servers that don't
// answer, saying which, never with the password.
func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	dead, dead2 := deadAddr(t), deadAddr(t)
	mr := miniredis.RunT(t)
	mr.RequireAuth(urlPassword)
	tests := []struct {
		name string
		url  string
		want []string
	}{
		{"malformed", "redis://:" + urlPassword + "@[::1", []string{"REDIS_URL is not a URL"}},
		{"not redis", "https://:" + urlPassword + "@example.com", []string{"not a redis:// or rediss:// URL"}},
		{"single node down", "redis://:" + urlPassword + "@" + dead + "/0", []string{"Redis at redis://" + dead + "/0", "connection refused"}},
		{"wrong password", "redis://:not-" + urlPassword + "@" + mr.Addr() + "/0", []string{"Redis at redis://" + mr.Addr() + "/0", "WRONGPASS"}},
		{"cluster nodes down", "redis://:" + urlPassword + "@" + dead + "?cluster=true&addr=" + dead2,
			[]string{"can't be written", "cluster node " + dead + ":", "cluster node " + dead2 + ":"}},
		{"sentinels down", "redis://:" + urlPassword + "@" + dead + "/0?master_name=mymaster&addr=" + dead2,
			[]string{"can't be written", "sentinel " + dead + ":", "sentinel " + dead2 + ":", `no sentinel named a master called "mymaster"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rdb, _, _, err := store.Open(context.Background(), tt.url, store.OpenOptions{Timeout: 2 * time.Second})
			if err == nil {
				rdb.Close()
				t.Fatal("Open succeeded")
			}
			t.Log(err)
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), urlPassword) {
				t.Errorf("the password appears in %q", err)
			}
		})
	}
}

// TestOpenAndReady: Open on a working server; Ready writes the readiness key with a
// TTL, and fails once the server is gone.
func TestOpenAndReady(t *testing.T) {
	mr := miniredis.RunT(t)
	mr.RequireAuth(urlPassword)
	rdb, rc, warnings, err := store.Open(context.Background(), "redis://:"+urlPassword+"@"+mr.Addr()+"/0",
		store.OpenOptions{Prefix: "p:", Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	if rc.Topology != store.Single || len(warnings) != 0 {
		t.Errorf("topology %s, warnings %v", rc.Topology, warnings)
	}
	if ttl := mr.TTL("p:{events}:ready"); ttl <= 0 || ttl > 10*time.Second {
		t.Errorf("readiness key TTL %v, want up to 10s", ttl)
	}
	s := store.New(rdb, store.Options{Prefix: "p:"})
	if err := s.Ready(context.Background()); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	mr.SetError("READONLY You can't write against a read only replica.")
	if err := s.Ready(context.Background()); err == nil || !strings.Contains(err.Error(), "READONLY") {
		t.Errorf("Ready on a read-only server = %v, want READONLY", err)
	}
	mr.SetError("")
	mr.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Ready(ctx); err == nil {
		t.Error("Ready with the server gone = nil")
	}
}

// TestReadyOnEveryBackend: Ready succeeds on the shared Redis, whatever its topology,
// and its key expires.
func TestReadyOnEveryBackend(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			prefix := uniquePrefix(t)
			s := store.New(b.rdb, store.Options{Prefix: prefix})
			if err := s.Ready(context.Background()); err != nil {
				t.Fatal(err)
			}
			if ttl := b.rdb.PTTL(context.Background(), prefix+"{events}:ready").Val(); ttl <= 0 {
				t.Errorf("readiness key TTL %v", ttl)
			}
		})
	}
}
