// Package redistest starts real Redis deployments for tests: a single server (with AOF
// if asked), a Redis Cluster, and a Sentinel set, each made of redis-server processes
// on free local ports in a temporary directory, stopped when the test ends. Nodes can
// be killed (SIGKILL) or stopped (SIGTERM) and started again, on the same ports with
// the same data, to drive failovers and outages.
//
// It also holds helpers that work on any topology: Keys and DropPrefix scan every
// Cluster master, and FromEnv opens the Redis a test run names in REDIS_URL.
//
//	c := redistest.StartCluster(t, redistest.ClusterOptions{})
//	m := c.MasterOf(t, "paylink:{events}:notify")
//	replicas := c.ReplicasOf(t, m)
//	m.Kill(t)
//	c.WaitPromoted(t, replicas, 10*time.Second)
//
// Every Start function skips the test (t.Skip) when redis-server is not on PATH.
package redistest

import (
	"context"
	"errors"
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

// Server returns the path of redis-server, or skips the test when it is not on PATH.
func Server(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not on PATH: this test starts its own Redis servers (install redis-server, e.g. apt-get install redis-server)")
	}
	return p
}

// Node is one redis-server process.
type Node struct {
	// Addr is 127.0.0.1:port.
	Addr string
	// Port is the client port.
	Port int
	// BusPort is a Cluster node's bus port (cluster-port); 0 otherwise.
	BusPort int
	// Dir is the server's working directory (its config, log, AOF and nodes.conf).
	Dir string

	name     string
	bin      string
	args     []string
	password string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exit   chan struct{}
	client *redis.Client
}

// FreePort returns a local TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Nodes listen on ports from nodePortBase to nodePortBase+nodePortSpan-1: below the
// kernel's ephemeral range (32768 and up, usually), so that no outgoing connection
// takes a node's port while the node is down for a restart.
const (
	nodePortBase = 15000
	nodePortSpan = 17000
)

var (
	portsMu    sync.Mutex
	portsTaken = map[int]bool{}
)

// nodePort returns a port for a node that is free now and was not handed out before
// in this test binary.
func nodePort(t testing.TB) int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 1000 {
		p := nodePortBase + rand.IntN(nodePortSpan)
		if portsTaken[p] {
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		ln.Close()
		portsTaken[p] = true
		return p
	}
	t.Fatal("no free port for a Redis node")
	return 0
}

// errPortTaken is returned by start when another process took the node's port first.
var errPortTaken = errors.New("port already in use")

// newNode writes a config file and starts redis-server with it, on ports of its own
// (another pick should a port be taken by the time the node binds it). extra is
// appended to the config, one directive per element. A Cluster node (bus) gets a bus
// port too. The node is stopped when the test ends, and its log shown if the test
// failed.
func newNode(t testing.TB, bin, name string, extra []string, sentinel, bus bool) *Node {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	n := &Node{Dir: dir, name: name, bin: bin}
	for _, line := range extra {
		if pw, ok := strings.CutPrefix(line, "requirepass "); ok {
			n.password = pw
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s (%s) log:\n%s", n.name, n.Addr, n.Log())
		}
		n.stop()
	})
	for attempt := 1; ; attempt++ {
		n.Port = nodePort(t)
		n.Addr = "127.0.0.1:" + strconv.Itoa(n.Port)
		conf := []string{
			"port " + strconv.Itoa(n.Port),
			"bind 127.0.0.1",
			"protected-mode no",
			"dir " + dir,
			"logfile " + filepath.Join(dir, "redis.log"),
			"daemonize no",
		}
		if bus {
			n.BusPort = nodePort(t)
			conf = append(conf, "cluster-port "+strconv.Itoa(n.BusPort))
		}
		if !sentinel {
			conf = append(conf, `save ""`)
		}
		conf = append(conf, extra...)
		path := filepath.Join(dir, "redis.conf")
		if err := os.WriteFile(path, []byte(strings.Join(conf, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		n.args = []string{path}
		if sentinel {
			n.args = append(n.args, "--sentinel")
		}
		err := n.start(10 * time.Second)
		if err == nil {
			return n
		}
		if attempt == 3 || !errors.Is(err, errPortTaken) {
			t.Fatal(err)
		}
		os.Remove(filepath.Join(dir, "redis.log"))
	}
}

// start runs the server and waits until it answers PING; it fails if the server exits
// first or another process answers on its port.
func (n *Node) start(within time.Duration) error {
	n.mu.Lock()
	if n.cmd != nil && n.running() {
		n.mu.Unlock()
		return fmt.Errorf("redis-server %s (%s) is already running", n.Addr, n.name)
	}
	cmd := exec.Command(n.bin, n.args...)
	cmd.Dir = n.Dir
	if err := cmd.Start(); err != nil {
		n.mu.Unlock()
		return fmt.Errorf("start redis-server: %v", err)
	}
	exit := make(chan struct{})
	n.cmd, n.exit = cmd, exit
	n.mu.Unlock()
	go func() { cmd.Wait(); close(exit) }()
	err := n.waitPing(cmd.Process.Pid, exit, within)
	if err != nil {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-exit
		if strings.Contains(n.Log(), "Address already in use") {
			return fmt.Errorf("redis-server %s (%s): %w", n.Addr, n.name, errPortTaken)
		}
	}
	return err
}

// waitPing waits until the server with process id pid answers PING on the node's
// port (a LOADING answer counts as not yet), or exit is closed.
func (n *Node) waitPing(pid int, exit <-chan struct{}, within time.Duration) error {
	deadline := time.Now().Add(within)
	exited := func() error {
		select {
		case <-exit:
			return fmt.Errorf("redis-server %s (%s) exited at start:\n%s", n.Addr, n.name, n.Log())
		default:
			return nil
		}
	}
	// First the port, quietly (go-redis logs every refused dial).
	for {
		conn, err := net.DialTimeout("tcp", n.Addr, time.Second)
		if err == nil {
			conn.Close()
			break
		}
		if err := exited(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server %s (%s) does not listen after %v: %v\n%s", n.Addr, n.name, within, err, n.Log())
		}
		time.Sleep(10 * time.Millisecond)
	}
	c := redis.NewClient(&redis.Options{Addr: n.Addr, Password: n.password, MaxRetries: -1, DialTimeout: time.Second, DialerRetries: 1})
	defer c.Close()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		var info string
		if err == nil {
			// The process that answers must be this one, not one that had the port first.
			info, err = c.Info(ctx, "server").Result()
		}
		cancel()
		if err == nil {
			if infoField(info, "process_id") == strconv.Itoa(pid) {
				return nil
			}
			err = fmt.Errorf("another process (pid %s) answers", infoField(info, "process_id"))
		}
		if err := exited(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server %s (%s) does not answer PING after %v: %v\n%s", n.Addr, n.name, within, err, n.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Log returns the end of the server's log file.
func (n *Node) Log() string {
	b, _ := os.ReadFile(filepath.Join(n.Dir, "redis.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Client returns a client of this node alone, with its password if it has one (the
// same client each time; it reconnects after a restart). The test's end closes it.
func (n *Node) Client() *redis.Client {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.client == nil {
		n.client = redis.NewClient(&redis.Options{Addr: n.Addr, Password: n.password, MaxRetries: -1, DialTimeout: time.Second, DialerRetries: 1,
			ReadTimeout: 2 * time.Second, PoolSize: 4})
	}
	return n.client
}

// signal sends sig and waits up to within for the process to exit, then kills it.
func (n *Node) signal(sig syscall.Signal, within time.Duration) {
	n.mu.Lock()
	cmd, exit := n.cmd, n.exit
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exit:
	case <-time.After(within):
		_ = cmd.Process.Kill()
		<-exit
	}
}

// Kill stops the node with SIGKILL, as a crash would, and waits for it to exit: what
// was not yet written to its AOF is lost.
func (n *Node) Kill(t testing.TB) {
	t.Helper()
	n.signal(syscall.SIGKILL, 5*time.Second)
}

// Stop stops the node with SIGTERM, as a clean shutdown would: it flushes its AOF and
// exits. After 30 s it is killed.
func (n *Node) Stop(t testing.TB) {
	t.Helper()
	n.signal(syscall.SIGTERM, 30*time.Second)
}

// Start starts a stopped or killed node again, on the same port and directory, and
// waits until it answers PING: it has reloaded its AOF, and a Cluster node rejoins with
// its nodes.conf. A node still running fails the test.
func (n *Node) Start(t testing.TB) {
	t.Helper()
	if err := n.start(20 * time.Second); err != nil {
		t.Fatal(err)
	}
}

// Restart kills the node (if it is running) and starts it again; see Start.
func (n *Node) Restart(t testing.TB) {
	t.Helper()
	n.Kill(t)
	n.Start(t)
}

// Running reports whether the process is alive.
func (n *Node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.running()
}

// running is Running with n.mu held.
func (n *Node) running() bool {
	select {
	case <-n.exit:
		return false
	default:
		return true
	}
}

func (n *Node) stop() {
	n.mu.Lock()
	client := n.client
	n.client = nil
	n.mu.Unlock()
	if client != nil {
		client.Close()
	}
	n.signal(syscall.SIGKILL, 5*time.Second)
}

// SingleOptions tune StartSingle. The zero value is a server without persistence.
type SingleOptions struct {
	// AOF turns on the append-only file, so a killed and restarted server keeps its
	// data; Fsync is appendfsync ("always", "everysec" (the default) or "no").
	AOF   bool
	Fsync string
	// Password, when set, is required (requirepass).
	Password string
	// Config holds more redis.conf directives, e.g. "maxmemory 10mb".
	Config []string
}

// aofConfig is the persistence of a data node: none, or the append-only file with
// appendfsync fsync ("everysec" when empty).
func aofConfig(aof bool, fsync string) []string {
	if !aof {
		return []string{"appendonly no"}
	}
	if fsync == "" {
		fsync = "everysec"
	}
	return []string{"appendonly yes", "appendfsync " + fsync}
}

// Single is one Redis server.
type Single struct {
	*Node
	// URL is its REDIS_URL (database 0).
	URL string
}

// StartSingle starts one Redis server.
func StartSingle(t testing.TB, opts SingleOptions) *Single {
	t.Helper()
	bin := Server(t)
	conf := aofConfig(opts.AOF, opts.Fsync)
	if opts.Password != "" {
		conf = append(conf, "requirepass "+opts.Password)
	}
	conf = append(conf, opts.Config...)
	n := newNode(t, bin, "single", conf, false, false)
	u := "redis://" + n.Addr + "/0"
	if opts.Password != "" {
		u = "redis://:" + opts.Password + "@" + n.Addr + "/0"
	}
	return &Single{Node: n, URL: u}
}

// Keys lists the keys matching pattern on every master (every node of a Cluster; the
// server otherwise).
func Keys(ctx context.Context, rdb redis.UniversalClient, pattern string) ([]string, error) {
	var mu sync.Mutex
	var out []string
	err := forEachMaster(ctx, rdb, func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		mu.Lock()
		out = append(out, keys...)
		mu.Unlock()
		return iter.Err()
	})
	return out, err
}

// DropPrefix deletes every key starting with prefix, on every master. Tests sharing a
// Redis use it to remove what they wrote.
func DropPrefix(ctx context.Context, rdb redis.UniversalClient, prefix string) error {
	return forEachMaster(ctx, rdb, func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		var batch []string
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			// One key per call: on a Cluster node the keys of a batch may be in
			// different slots.
			pipe := c.Pipeline()
			for _, k := range batch {
				pipe.Unlink(ctx, k)
			}
			_, err := pipe.Exec(ctx)
			batch = batch[:0]
			return err
		}
		for iter.Next(ctx) {
			if batch = append(batch, iter.Val()); len(batch) == 500 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := iter.Err(); err != nil {
			return err
		}
		return flush()
	})
}

// forEachMaster runs fn on every Cluster master, or on the client itself.
func forEachMaster(ctx context.Context, rdb redis.UniversalClient, fn func(context.Context, *redis.Client) error) error {
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, fn)
	case *redis.Client:
		return fn(ctx, c)
	}
	return fmt.Errorf("redistest: unsupported client %T", rdb)
}

// errTimeout is returned by waitFor when cond stays false.
var errTimeout = errors.New("timed out")

// waitFor polls cond every 50 ms until it returns nil or within passes.
func waitFor(within time.Duration, cond func() error) error {
	deadline := time.Now().Add(within)
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w after %v: %v", errTimeout, within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// infoField returns one field of an INFO section's text.
func infoField(info, name string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}
