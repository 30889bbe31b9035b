package redistest

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentinelOptions tune StartSentinel. The zero value is one master, one replica and
// three sentinels (quorum 2) that fail a silent master over after 1000 ms.
type SentinelOptions struct {
	Replicas  int // default 1
	Sentinels int // default 3
	// DownAfter is down-after-milliseconds; default 1000 ms.
	DownAfter time.Duration
	// FailoverTimeout is failover-timeout; default 3000 ms. Sentinel won't fail the
	// same master over again within twice this.
	FailoverTimeout time.Duration
	// MasterName defaults to "mymaster".
	MasterName string
	// AOF turns on the data nodes' append-only file; Fsync is appendfsync ("always",
	// "everysec" (the default) or "no").
	AOF   bool
	Fsync string
	// Config holds more redis.conf directives for the data nodes, e.g.
	// "min-replicas-to-write 1".
	Config []string
}

// SentinelSet is a master, its replicas and the sentinels watching them.
type SentinelSet struct {
	// Data are the master (first, at the start) and its replicas. Roles change with
	// failovers: ask Master.
	Data      []*Node
	Sentinels []*Node
	// MasterName is the name the sentinels know the master by.
	MasterName string
	// URL is the set's REDIS_URL: every sentinel, master_name, database 0.
	URL string
}

// StartSentinel starts a master, its replicas and the sentinels, and waits until
// every sentinel knows the master, its replicas and the other sentinels.
func StartSentinel(t testing.TB, opts SentinelOptions) *SentinelSet {
	t.Helper()
	bin := Server(t)
	if opts.Replicas <= 0 {
		opts.Replicas = 1
	}
	if opts.Sentinels <= 0 {
		opts.Sentinels = 3
	}
	if opts.DownAfter <= 0 {
		opts.DownAfter = time.Second
	}
	if opts.FailoverTimeout <= 0 {
		opts.FailoverTimeout = 3 * time.Second
	}
	if opts.MasterName == "" {
		opts.MasterName = "mymaster"
	}
	s := &SentinelSet{MasterName: opts.MasterName}
	data := append(aofConfig(opts.AOF, opts.Fsync), opts.Config...)
	master := newNode(t, bin, "master", data, false, false)
	s.Data = append(s.Data, master)
	for i := range opts.Replicas {
		s.Data = append(s.Data, newNode(t, bin, fmt.Sprintf("replica-%d", i),
			append(slices.Clip(data), "replicaof 127.0.0.1 "+strconv.Itoa(master.Port)), false, false))
	}
	quorum := opts.Sentinels/2 + 1
	for i := range opts.Sentinels {
		s.Sentinels = append(s.Sentinels, newNode(t, bin, fmt.Sprintf("sentinel-%d", i), []string{
			fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d %d", opts.MasterName, master.Port, quorum),
			fmt.Sprintf("sentinel down-after-milliseconds %s %d", opts.MasterName, opts.DownAfter.Milliseconds()),
			fmt.Sprintf("sentinel failover-timeout %s %d", opts.MasterName, opts.FailoverTimeout.Milliseconds()),
			fmt.Sprintf("sentinel parallel-syncs %s 1", opts.MasterName),
		}, true, false))
	}
	s.WaitReady(t, 30*time.Second)
	addrs := make([]string, len(s.Sentinels))
	for i, n := range s.Sentinels {
		addrs[i] = n.Addr
	}
	s.URL = "redis://" + addrs[0] + "/0?master_name=" + opts.MasterName + "&addr=" + strings.Join(addrs[1:], "&addr=")
	return s
}

// sentinelClient is a client of one sentinel.
func sentinelClient(n *Node) *redis.SentinelClient {
	return redis.NewSentinelClient(&redis.Options{Addr: n.Addr, MaxRetries: -1, DialTimeout: time.Second, DialerRetries: 1, ReadTimeout: 2 * time.Second})
}

// WaitReady waits until every running sentinel names the same master, sees every
// running replica connected to it and every other running sentinel: the set can
// fail over.
func (s *SentinelSet) WaitReady(t testing.TB, within time.Duration) {
	t.Helper()
	err := waitFor(within, func() error {
		running := 0
		for _, n := range s.Sentinels {
			if n.Running() {
				running++
			}
		}
		replicas := 0
		master := ""
		for _, n := range s.Data {
			if !n.Running() {
				continue
			}
			repl, err := n.Client().Info(context.Background(), "replication").Result()
			if err != nil {
				return err
			}
			switch infoField(repl, "role") {
			case "master":
				master = n.Addr
			case "slave":
				if infoField(repl, "master_link_status") != "up" {
					return fmt.Errorf("replica %s link %s", n.Addr, infoField(repl, "master_link_status"))
				}
				replicas++
			}
		}
		for _, n := range s.Sentinels {
			if !n.Running() {
				continue
			}
			sc := sentinelClient(n)
			m, err := sc.Master(context.Background(), s.MasterName).Result()
			sc.Close()
			if err != nil {
				return fmt.Errorf("sentinel %s: %v", n.Addr, err)
			}
			addr := net.JoinHostPort(m["ip"], m["port"])
			if addr != master {
				return fmt.Errorf("sentinel %s names master %s, the running master is %s", n.Addr, addr, master)
			}
			if strings.Contains(m["flags"], "down") || m["failover-state"] != "" && m["failover-state"] != "none" {
				return fmt.Errorf("sentinel %s: master flags %s", n.Addr, m["flags"])
			}
			if got, _ := strconv.Atoi(m["num-other-sentinels"]); got != running-1 {
				return fmt.Errorf("sentinel %s knows %d other sentinels, want %d", n.Addr, got, running-1)
			}
			if got, _ := strconv.Atoi(m["num-slaves"]); got < replicas {
				return fmt.Errorf("sentinel %s knows %d replicas, want %d", n.Addr, got, replicas)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("sentinel set not ready: %v", err)
	}
}

// MasterAddr is the master's address as the first running sentinel names it.
func (s *SentinelSet) MasterAddr(t testing.TB) string {
	t.Helper()
	for _, n := range s.Sentinels {
		if !n.Running() {
			continue
		}
		sc := sentinelClient(n)
		hp, err := sc.GetMasterAddrByName(context.Background(), s.MasterName).Result()
		sc.Close()
		if err == nil {
			return net.JoinHostPort(hp[0], hp[1])
		}
	}
	t.Fatal("no running sentinel names the master")
	return ""
}

// Master is the data node the sentinels name as master.
func (s *SentinelSet) Master(t testing.TB) *Node {
	t.Helper()
	addr := s.MasterAddr(t)
	for _, n := range s.Data {
		if n.Addr == addr {
			return n
		}
	}
	t.Fatalf("the sentinels name %s, not a node of this set", addr)
	return nil
}

// Failover asks a sentinel to fail the master over now (SENTINEL FAILOVER: the old
// master is demoted to a replica) and returns the new master once the sentinels name
// it and it says it is master.
func (s *SentinelSet) Failover(t testing.TB, within time.Duration) (*Node, time.Time) {
	t.Helper()
	old := s.MasterAddr(t)
	var err error
	for _, n := range s.Sentinels {
		if !n.Running() {
			continue
		}
		sc := sentinelClient(n)
		err = sc.Failover(context.Background(), s.MasterName).Err()
		sc.Close()
		if err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("SENTINEL FAILOVER: %v", err)
	}
	return s.WaitNewMaster(t, old, within)
}

// WaitNewMaster waits until the sentinels name a master other than old and that node
// says it is master, and returns it and when that was seen.
func (s *SentinelSet) WaitNewMaster(t testing.TB, old string, within time.Duration) (*Node, time.Time) {
	t.Helper()
	var found *Node
	err := waitFor(within, func() error {
		addr := s.MasterAddr(t)
		if addr == old {
			return fmt.Errorf("the sentinels still name %s", old)
		}
		for _, n := range s.Data {
			if n.Addr != addr || !n.Running() {
				continue
			}
			if role, err := roleOf(n); err == nil && role == "master" {
				found = n
				return nil
			}
		}
		return fmt.Errorf("%s is named but not yet master", addr)
	})
	if err != nil {
		t.Fatalf("no new master: %v", err)
	}
	return found, time.Now()
}
