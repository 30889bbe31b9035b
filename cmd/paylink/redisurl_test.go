package main

import (
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestRedisURLs(t *testing.T) {
	tests := []struct {
		url     string
		kind    string // "node", "cluster" or an error fragment
		options func(redis.UniversalClient) bool
	}{
		{"redis://127.0.0.1:6379/15", "node", func(c redis.UniversalClient) bool {
			o := c.(*redis.Client).Options()
			return o.Addr == "127.0.0.1:6379" && o.DB == 15 && o.TLSConfig == nil
		}},
		{"rediss://:secret@redis.example:6380/0", "node", func(c redis.UniversalClient) bool {
			o := c.(*redis.Client).Options()
			return o.TLSConfig != nil && o.Password == "secret"
		}},
		{"redis://:secret@sentinel-a:26379/0?master_name=paylink&addr=sentinel-b:26379", "node", nil},
		{"redis://node-a:6379?cluster=true&addr=node-b:6379&addr=node-c:6379", "cluster", func(c redis.UniversalClient) bool {
			return len(c.(*redis.ClusterClient).Options().Addrs) == 3
		}},
		{"http://redis.example", "not a redis:// or rediss:// URL", nil},
		{"redis://:hunter2@host:6379?bogus_option=1", "REDIS_URL", nil},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			c, err := redisClient(tt.url)
			switch tt.kind {
			case "node", "cluster":
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				_, isCluster := c.(*redis.ClusterClient)
				if isCluster != (tt.kind == "cluster") {
					t.Errorf("client %T, want a %s client", c, tt.kind)
				}
				if tt.options != nil && !tt.options(c) {
					t.Errorf("options not taken from the URL")
				}
			default:
				if err == nil || !strings.Contains(err.Error(), tt.kind) {
					t.Fatalf("error %v, want one mentioning %q", err, tt.kind)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("the password appears in %q", err)
				}
			}
		})
	}
}
