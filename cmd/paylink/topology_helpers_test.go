package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// This file starts and stops redis-server topologies (a single node with AOF, Sentinel,
// Cluster) on free ports in temporary directories, for the topology fault suite. Every
// process is stopped when the test ends.

// needRedisServer skips the test unless redis-server and redis-cli are on PATH.
func needRedisServer(t *testing.T) {
	t.Helper()
	for _, bin := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s is not on PATH: the topology fault suite starts its own Redis nodes (CI has it)", bin)
		}
	}
}

var (
	portsMu    sync.Mutex
	portsTaken = map[int]bool{}
)

// redisPort returns a port, below the kernel's ephemeral range so that no outgoing
// connection takes it while its node is down for a restart, that is free now and was
// not handed out before in this test binary. With bus set, port+10000 (Redis Cluster's
// bus port) must be free too.
func redisPort(t *testing.T, bus bool) int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	free := func(p int) bool {
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			return false
		}
		ln.Close()
		return true
	}
	for range 1000 {
		p := 15000 + rand.IntN(7000) // bus ports 25000-31999: below 32768 too
		if portsTaken[p] || portsTaken[p+10000] || !free(p) || (bus && !free(p+10000)) {
			continue
		}
		portsTaken[p] = true
		if bus {
			portsTaken[p+10000] = true
		}
		return p
	}
	t.Fatal("no free port for a Redis node")
	return 0
}

// redisNode is one redis-server (or sentinel) process with its own directory and
// configuration file; it can be killed, stopped and started again on the same port with
// the same data.
type redisNode struct {
	t        *testing.T
	name     string
	port     int
	dir      string
	conf     string
	sentinel bool
	log      *syncBuffer

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// nodeKind says what a redisNode runs.
type nodeKind int

const (
	dataNode     nodeKind = iota // redis-server
	clusterNode                  // redis-server with a cluster bus port
	sentinelNode                 // redis-server --sentinel
)

// newRedisNode writes the node's configuration (the common lines plus extra) and starts
// it on a free port (another, should that port be taken by the time the node binds it).
// It is stopped when the test ends, and its log shown if the test failed.
func newRedisNode(t *testing.T, name string, kind nodeKind, extra ...string) *redisNode {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	n := &redisNode{t: t, name: name, dir: dir, conf: filepath.Join(dir, "redis.conf"), sentinel: kind == sentinelNode}
	t.Cleanup(func() {
		n.Kill()
		if t.Failed() {
			t.Logf("%s (port %d) log:\n%s", n.name, n.port, tailLines(n.log.String(), 25))
		}
	})
	for attempt := 1; ; attempt++ {
		n.port = redisPort(t, kind == clusterNode)
		n.log = &syncBuffer{}
		lines := []string{
			"port " + strconv.Itoa(n.port),
			"bind 127.0.0.1",
			"protected-mode no",
			"daemonize no",
			"dir " + dir,
			`logfile ""`,
		}
		if !n.sentinel {
			lines = append(lines, `save ""`)
		}
		lines = append(lines, extra...)
		if err := os.WriteFile(n.conf, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		err := n.start()
		if err == nil {
			return n
		}
		if attempt == 3 || !strings.Contains(n.log.String(), "Address already in use") {
			t.Fatal(err)
		}
	}
}

func (n *redisNode) Addr() string { return "127.0.0.1:" + strconv.Itoa(n.port) }

// Start runs the node again, on its port with its data, and waits until it answers PING
// (it may still be loading its AOF).
func (n *redisNode) Start() {
	n.t.Helper()
	if err := n.start(); err != nil {
		n.t.Fatal(err)
	}
}

func (n *redisNode) start() error {
	n.mu.Lock()
	if n.cmd != nil {
		n.mu.Unlock()
		return fmt.Errorf("%s is already running", n.name)
	}
	args := []string{n.conf}
	if n.sentinel {
		args = append(args, "--sentinel")
	}
	cmd := exec.Command("redis-server", args...)
	cmd.Stdout, cmd.Stderr = n.log, n.log
	if err := cmd.Start(); err != nil {
		n.mu.Unlock()
		return fmt.Errorf("start %s: %v", n.name, err)
	}
	done := make(chan struct{})
	n.cmd, n.done = cmd, done
	n.mu.Unlock()
	go func() { cmd.Wait(); close(done) }()

	c := redis.NewClient(&redis.Options{Addr: n.Addr(), MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		// The process that answers must be this one, not one that had the port first.
		info, err := c.Info(context.Background(), "server").Result()
		if err == nil && infoField(info, "process_id") == strconv.Itoa(cmd.Process.Pid) ||
			err != nil && strings.HasPrefix(err.Error(), "LOADING") {
			return nil
		}
		select {
		case <-done:
			n.mu.Lock()
			n.cmd = nil
			n.mu.Unlock()
			return fmt.Errorf("%s exited at start:\n%s", n.name, tailLines(n.log.String(), 30))
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s does not answer after 20s: %v\n%s", n.name, err, tailLines(n.log.String(), 30))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// signal sends sig and waits for the process to exit.
func (n *redisNode) signal(sig syscall.Signal) {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.cmd = nil
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// Kill ends the node with SIGKILL: what was not yet written to its AOF is lost.
func (n *redisNode) Kill() { n.signal(syscall.SIGKILL) }

// Stop ends the node with SIGTERM: it flushes its AOF and exits.
func (n *redisNode) Stop() { n.signal(syscall.SIGTERM) }

// client is a plain client to this node, closed when the test ends.
func (n *redisNode) client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: n.Addr(), MaxRetries: -1, DialTimeout: time.Second, ReadTimeout: 2 * time.Second})
	n.t.Cleanup(func() { c.Close() })
	return c
}

// info returns one field of INFO section, or "" when the node doesn't answer.
func (n *redisNode) info(ctx context.Context, section, field string) string {
	c := redis.NewClient(&redis.Options{Addr: n.Addr(), MaxRetries: -1, DialTimeout: time.Second, ReadTimeout: 2 * time.Second})
	defer c.Close()
	return infoField(c.Info(ctx, section).Val(), field)
}

func infoField(info, field string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v
		}
	}
	return ""
}

func tailLines(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// waitUntil polls cond every 50 ms until it holds or within has passed; it reports
// whether it held.
func waitUntil(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// persistence is the AOF configuration every data node gets.
func persistence(fsync string) []string {
	return []string{"appendonly yes", "appendfsync " + fsync, "repl-diskless-sync-delay 0"}
}

// startSingleRedis starts one node with AOF (appendfsync always).
func startSingleRedis(t *testing.T) *redisNode {
	t.Helper()
	return newRedisNode(t, "redis", dataNode, persistence("always")...)
}

// sentinelTopology is a master, a replica and three sentinels watching them as
// "mymaster".
type sentinelTopology struct {
	t         *testing.T
	data      []*redisNode // master and replica, in start order
	sentinels []*redisNode
}

const sentinelMaster = "mymaster"

// startSentinel starts the topology and waits until the replica is in sync and every
// sentinel knows the replica and the other two sentinels, so a failover can happen.
// Both data nodes refuse writes unless a replica is connected and at most 2 s behind
// (min-replicas-to-write 1, min-replicas-max-lag 2): roles swap on failover.
func startSentinel(t *testing.T) *sentinelTopology {
	t.Helper()
	s := &sentinelTopology{t: t}
	minReplicas := []string{"min-replicas-to-write 1", "min-replicas-max-lag 2"}
	master := newRedisNode(t, "master", dataNode, append(persistence("everysec"), minReplicas...)...)
	replica := newRedisNode(t, "replica", dataNode,
		append(append(persistence("everysec"), minReplicas...), "replicaof 127.0.0.1 "+strconv.Itoa(master.port))...)
	s.data = []*redisNode{master, replica}
	ctx := context.Background()
	if !waitUntil(20*time.Second, func() bool {
		return replica.info(ctx, "replication", "master_link_status") == "up" && master.info(ctx, "replication", "connected_slaves") == "1"
	}) {
		t.Fatal("sentinel topology: the replica did not sync with the master within 20s")
	}
	for i := range 3 {
		s.sentinels = append(s.sentinels, newRedisNode(t, fmt.Sprintf("sentinel-%d", i+1), sentinelNode,
			"sentinel monitor "+sentinelMaster+" 127.0.0.1 "+strconv.Itoa(master.port)+" 2",
			"sentinel down-after-milliseconds "+sentinelMaster+" 1000",
			"sentinel failover-timeout "+sentinelMaster+" 3000",
			"sentinel parallel-syncs "+sentinelMaster+" 1"))
	}
	if !waitUntil(30*time.Second, func() bool {
		for _, sn := range s.sentinels {
			c := redis.NewSentinelClient(&redis.Options{Addr: sn.Addr(), DialTimeout: time.Second})
			m, err := c.Master(ctx, sentinelMaster).Result()
			reps, rerr := c.Replicas(ctx, sentinelMaster).Result()
			c.Close()
			if err != nil || rerr != nil || m["num-other-sentinels"] != "2" || len(reps) != 1 || m["flags"] != "master" {
				return false
			}
		}
		return true
	}) {
		t.Fatal("sentinel topology: the sentinels did not find each other and the replica within 30s")
	}
	return s
}

// URL is REDIS_URL for paylink: the first sentinel, the others as addr=.
func (s *sentinelTopology) URL() string {
	return fmt.Sprintf("redis://%s/0?master_name=%s&addr=%s&addr=%s",
		s.sentinels[0].Addr(), sentinelMaster, s.sentinels[1].Addr(), s.sentinels[2].Addr())
}

// MasterAddr is the master's address as the first sentinel that answers reports it.
func (s *sentinelTopology) MasterAddr(ctx context.Context) string {
	for _, sn := range s.sentinels {
		c := redis.NewSentinelClient(&redis.Options{Addr: sn.Addr(), DialTimeout: time.Second})
		a, err := c.GetMasterAddrByName(ctx, sentinelMaster).Result()
		c.Close()
		if err == nil && len(a) == 2 {
			return a[0] + ":" + a[1]
		}
	}
	return ""
}

// node returns the data node at addr.
func (s *sentinelTopology) node(addr string) *redisNode {
	for _, n := range s.data {
		if n.Addr() == addr {
			return n
		}
	}
	s.t.Fatalf("no data node at %q", addr)
	return nil
}

// masterWritable reports whether the node at addr is a master that takes a write and has
// it acknowledged by a replica: usable by paylink again.
func masterWritable(ctx context.Context, addr string) bool {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 500 * time.Millisecond, ReadTimeout: time.Second})
	defer c.Close()
	if err := c.Set(ctx, "topology-probe:{events}", time.Now().UnixNano(), time.Minute).Err(); err != nil {
		return false
	}
	n, err := c.Wait(ctx, 1, 500*time.Millisecond).Result()
	return err == nil && n >= 1
}

// clusterTopology is a Redis Cluster of masters with one replica each.
type clusterTopology struct {
	t     *testing.T
	nodes []*redisNode
}

// startCluster starts 2×masters nodes, makes them a cluster with one replica per master
// (cluster-node-timeout 1500 ms) and waits until every node sees the cluster whole and
// every replica is in sync.
func startCluster(t *testing.T, masters int) *clusterTopology {
	t.Helper()
	c := &clusterTopology{t: t}
	var addrs []string
	for i := range 2 * masters {
		n := newRedisNode(t, fmt.Sprintf("cluster-%d", i+1), clusterNode,
			append(persistence("everysec"), "cluster-enabled yes", "cluster-config-file nodes.conf", "cluster-node-timeout 1500")...)
		c.nodes = append(c.nodes, n)
		addrs = append(addrs, n.Addr())
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	ctx := context.Background()
	if !waitUntil(30*time.Second, func() bool {
		for _, n := range c.nodes {
			if n.info(ctx, "replication", "role") == "slave" && n.info(ctx, "replication", "master_link_status") != "up" {
				return false
			}
			cl := redis.NewClient(&redis.Options{Addr: n.Addr(), DialTimeout: time.Second})
			ci := cl.ClusterInfo(ctx).Val()
			cl.Close()
			if infoField(ci, "cluster_state") != "ok" || infoField(ci, "cluster_known_nodes") != strconv.Itoa(len(c.nodes)) {
				return false
			}
		}
		return true
	}) {
		t.Fatal("cluster: not every node saw the cluster ok with its replicas in sync within 30s")
	}
	return c
}

// URL is REDIS_URL for paylink: the first node, the others as addr=.
func (c *clusterTopology) URL() string {
	u := "redis://" + c.nodes[0].Addr() + "?cluster=true"
	for _, n := range c.nodes[1:] {
		u += "&addr=" + n.Addr()
	}
	return u
}

// SlotOwner returns the master that owns key's slot as node asks see it, and the slot.
func (c *clusterTopology) SlotOwner(ctx context.Context, ask *redisNode, key string) (string, int64) {
	cl := redis.NewClient(&redis.Options{Addr: ask.Addr(), DialTimeout: time.Second, MaxRetries: -1})
	defer cl.Close()
	slot, err := cl.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		return "", -1
	}
	//lint:ignore SA1019 CLUSTER SLOTS answers on every Redis version the suites run.
	slots, err := cl.ClusterSlots(ctx).Result()
	if err != nil {
		return "", slot
	}
	for _, r := range slots {
		if int64(r.Start) <= slot && slot <= int64(r.End) && len(r.Nodes) > 0 {
			return r.Nodes[0].Addr, slot
		}
	}
	return "", slot
}

// node returns the node at addr.
func (c *clusterTopology) node(addr string) *redisNode {
	for _, n := range c.nodes {
		if n.Addr() == addr {
			return n
		}
	}
	c.t.Fatalf("no cluster node at %q", addr)
	return nil
}

// ownerWritable reports whether addr is a master that takes a write to key's slot in a
// cluster whose state is ok.
func ownerWritable(ctx context.Context, addr, key string) bool {
	cl := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 500 * time.Millisecond, ReadTimeout: time.Second})
	defer cl.Close()
	if infoField(cl.ClusterInfo(ctx).Val(), "cluster_state") != "ok" {
		return false
	}
	return cl.Set(ctx, key, time.Now().UnixNano(), time.Minute).Err() == nil
}
