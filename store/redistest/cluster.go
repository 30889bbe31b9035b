package redistest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ClusterOptions tune StartCluster. The zero value is 3 masters with one replica each
// and a 1500 ms node timeout.
type ClusterOptions struct {
	Masters  int // default 3
	Replicas int // replicas per master; default 1, -1 for none
	// NodeTimeout is cluster-node-timeout: how long a master may be silent before it
	// is failed over. Default 1500 ms.
	NodeTimeout time.Duration
	// AOF turns on every node's append-only file, so a killed and restarted node keeps
	// its data; Fsync is appendfsync ("always", "everysec" (the default) or "no").
	AOF   bool
	Fsync string
	// Config holds more redis.conf directives for every node.
	Config []string
}

// Cluster is a Redis Cluster of local redis-server processes.
type Cluster struct {
	// Nodes are the masters first (in slot order), then the replicas, in the order
	// they were started. Roles change with failovers: ask MasterOf and Role.
	Nodes []*Node
	// URL is the cluster's REDIS_URL: every node, cluster=true.
	URL string
}

// StartCluster starts a Redis Cluster and waits until every slot is served, every node
// knows every other, and every replica is in sync with its master.
func StartCluster(t testing.TB, opts ClusterOptions) *Cluster {
	t.Helper()
	bin := Server(t)
	if opts.Masters <= 0 {
		opts.Masters = 3
	}
	switch opts.Replicas {
	case 0:
		opts.Replicas = 1
	case -1:
		opts.Replicas = 0
	}
	if opts.NodeTimeout <= 0 {
		opts.NodeTimeout = 1500 * time.Millisecond
	}
	total := opts.Masters * (1 + opts.Replicas)
	c := &Cluster{}
	for i := range total {
		conf := append(aofConfig(opts.AOF, opts.Fsync),
			"cluster-enabled yes",
			"cluster-config-file nodes.conf",
			"cluster-node-timeout "+strconv.FormatInt(opts.NodeTimeout.Milliseconds(), 10),
			// A replica may always take over, however long it lost its master: tests
			// kill masters at will.
			"cluster-replica-validity-factor 0")
		conf = append(conf, opts.Config...)
		c.Nodes = append(c.Nodes, newNode(t, bin, fmt.Sprintf("cluster-%d", i), conf, false, true))
	}
	ctx := context.Background()
	ids := make([]string, total)
	for i, n := range c.Nodes {
		id, err := n.Client().Do(ctx, "CLUSTER", "MYID").Text()
		if err != nil {
			t.Fatalf("CLUSTER MYID on %s: %v", n.Addr, err)
		}
		ids[i] = id
	}
	// Slots, evenly over the masters.
	for m := range opts.Masters {
		from, to := m*16384/opts.Masters, (m+1)*16384/opts.Masters-1
		args := []any{"CLUSTER", "ADDSLOTS"}
		for s := from; s <= to; s++ {
			args = append(args, s)
		}
		if err := c.Nodes[m].Client().Do(ctx, args...).Err(); err != nil {
			t.Fatalf("CLUSTER ADDSLOTS on %s: %v", c.Nodes[m].Addr, err)
		}
	}
	for _, n := range c.Nodes[1:] {
		if err := n.Client().Do(ctx, "CLUSTER", "MEET", "127.0.0.1", c.Nodes[0].Port, c.Nodes[0].BusPort).Err(); err != nil {
			t.Fatalf("CLUSTER MEET from %s: %v", n.Addr, err)
		}
	}
	c.waitKnown(t, 20*time.Second)
	for r := opts.Masters; r < total; r++ {
		master := (r - opts.Masters) % opts.Masters
		if err := c.Nodes[r].Client().Do(ctx, "CLUSTER", "REPLICATE", ids[master]).Err(); err != nil {
			t.Fatalf("CLUSTER REPLICATE on %s: %v", c.Nodes[r].Addr, err)
		}
	}
	c.WaitOK(t, 30*time.Second)
	addrs := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i] = n.Addr
	}
	c.URL = "redis://" + addrs[0] + "?cluster=true&addr=" + strings.Join(addrs[1:], "&addr=")
	return c
}

// waitKnown waits until every node knows every other one (no handshake in progress).
func (c *Cluster) waitKnown(t testing.TB, within time.Duration) {
	t.Helper()
	err := waitFor(within, func() error {
		for _, n := range c.Nodes {
			if !n.Running() {
				continue
			}
			nodes, err := n.Client().ClusterNodes(context.Background()).Result()
			if err != nil {
				return err
			}
			lines := strings.Split(strings.TrimSpace(nodes), "\n")
			if len(lines) != len(c.Nodes) || strings.Contains(nodes, "handshake") || strings.Contains(nodes, "noaddr") {
				return fmt.Errorf("%s knows %d of %d nodes:\n%s", n.Addr, len(lines), len(c.Nodes), nodes)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("cluster nodes did not meet: %v", err)
	}
}

// WaitOK waits until every running node reports cluster_state:ok, agrees on the
// masters, and every running replica's link to its master is up.
func (c *Cluster) WaitOK(t testing.TB, within time.Duration) {
	t.Helper()
	ctx := context.Background()
	err := waitFor(within, func() error {
		for _, n := range c.Nodes {
			if !n.Running() {
				continue
			}
			cl := n.Client()
			info, err := cl.ClusterInfo(ctx).Result()
			if err != nil {
				return err
			}
			if s := infoField(info, "cluster_state"); s != "ok" {
				return fmt.Errorf("%s: cluster_state %s", n.Addr, s)
			}
			repl, err := cl.Info(ctx, "replication").Result()
			if err != nil {
				return err
			}
			if infoField(repl, "role") == "slave" && infoField(repl, "master_link_status") != "up" {
				return fmt.Errorf("%s: replica link %s", n.Addr, infoField(repl, "master_link_status"))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("cluster not ok: %v", err)
	}
}

// Slot is the hash slot of key.
func Slot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	return int(crc16(key) % 16384)
}

// MasterOf returns the node serving key's slot, as the running nodes see it.
func (c *Cluster) MasterOf(t testing.TB, key string) *Node {
	t.Helper()
	slot := Slot(key)
	for _, n := range c.Nodes {
		if !n.Running() {
			continue
		}
		//lint:ignore SA1019 CLUSTER SLOTS answers on every Redis version the suites run.
		slots, err := n.Client().ClusterSlots(context.Background()).Result()
		if err != nil {
			continue
		}
		for _, s := range slots {
			if slot >= s.Start && slot <= s.End && len(s.Nodes) > 0 {
				if node := c.node(s.Nodes[0].Addr); node != nil {
					return node
				}
			}
		}
	}
	t.Fatalf("no running node knows who serves slot %d", slot)
	return nil
}

// ReplicasOf returns the nodes replicating master.
func (c *Cluster) ReplicasOf(t testing.TB, master *Node) []*Node {
	t.Helper()
	var out []*Node
	for _, n := range c.Nodes {
		if n == master || !n.Running() {
			continue
		}
		repl, err := n.Client().Info(context.Background(), "replication").Result()
		if err != nil {
			continue
		}
		if infoField(repl, "role") == "slave" && infoField(repl, "master_port") == strconv.Itoa(master.Port) {
			out = append(out, n)
		}
	}
	return out
}

// Role returns "master" or "slave" as the node itself says (ROLE).
func Role(t testing.TB, n *Node) string {
	t.Helper()
	role, err := roleOf(n)
	if err != nil {
		t.Fatalf("ROLE on %s: %v", n.Addr, err)
	}
	return role
}

// roleOf returns what ROLE says of the node.
func roleOf(n *Node) (string, error) {
	role, err := n.Client().Do(context.Background(), "ROLE").Slice()
	if err != nil {
		return "", err
	}
	if len(role) == 0 {
		return "", errors.New("empty answer to ROLE")
	}
	s, _ := role[0].(string)
	return s, nil
}

// WaitPromoted waits until one of the replicas of a master that was killed is a
// master itself and the running nodes agree on it (cluster_state:ok), and returns it
// and when its promotion was seen.
func (c *Cluster) WaitPromoted(t testing.TB, replicas []*Node, within time.Duration) (*Node, time.Time) {
	t.Helper()
	var promoted *Node
	var at time.Time
	err := waitFor(within, func() error {
		for _, r := range replicas {
			if role, err := roleOf(r); err == nil && role == "master" {
				if promoted == nil {
					promoted, at = r, time.Now()
				}
			}
		}
		if promoted == nil {
			return fmt.Errorf("no replica promoted yet")
		}
		for _, n := range c.Nodes {
			if !n.Running() {
				continue
			}
			info, err := n.Client().ClusterInfo(context.Background()).Result()
			if err != nil {
				return err
			}
			if s := infoField(info, "cluster_state"); s != "ok" {
				return fmt.Errorf("%s: cluster_state %s", n.Addr, s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("no promotion: %v", err)
	}
	return promoted, at
}

func (c *Cluster) node(addr string) *Node {
	for _, n := range c.Nodes {
		if n.Addr == addr {
			return n
		}
	}
	return nil
}

// crc16 is Redis Cluster's key hash (CRC16-CCITT, XModem).
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}
