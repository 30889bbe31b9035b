// Package redistest starts real Redis deployments for tests: a single server (with AOF
// if asked), a Redis Cluster, and a Sentinel set, each made of redis-server processes
// on free local ports in a temporary directory, stopped when the test ends. Nodes can
// be killed (SIGKILL) and restarted to drive failovers.
//
// It also holds helpers that work on any topology: Keys and DropPrefix scan every
// Cluster master, and FromEnv opens the Redis a test run names in REDIS_URL.
//
//	c := redistest.StartCluster(t, redistest.ClusterOptions{})
//	m := c.MasterOf(t, "paylink:{events}:notify")
//	m.Kill(t)
//	c.WaitPromoted(t, m, 10*time.Second)
//
// Every Start function skips the test (t.Skip) when redis-server is not on PATH.
package redistest

import (
	"context"
	"errors"
	"fmt"
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
	// Dir is the server's working directory (its config, log, AOF and nodes.conf).
	Dir string

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

// newNode writes a config file and starts redis-server with it. extra is appended to
// the config, one directive per element.
func newNode(t testing.TB, bin, name string, extra []string, sentinel bool) *Node {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	port := FreePort(t)
	conf := []string{
		"port " + strconv.Itoa(port),
		"bind 127.0.0.1",
		"protected-mode no",
		"dir " + dir,
		"logfile " + filepath.Join(dir, "redis.log"),
		"daemonize no",
	}
	if !sentinel {
		conf = append(conf, `save ""`)
	}
	conf = append(conf, extra...)
	path := filepath.Join(dir, "redis.conf")
	if err := os.WriteFile(path, []byte(strings.Join(conf, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{path}
	if sentinel {
		args = append(args, "--sentinel")
	}
	n := &Node{Addr: "127.0.0.1:" + strconv.Itoa(port), Port: port, Dir: dir, bin: bin, args: args}
	for _, line := range extra {
		if pw, ok := strings.CutPrefix(line, "requirepass "); ok {
			n.password = pw
		}
	}
	n.start(t)
	t.Cleanup(func() { n.stop() })
	return n
}

func (n *Node) start(t testing.TB) {
	t.Helper()
	n.mu.Lock()
	cmd := exec.Command(n.bin, n.args...)
	cmd.Dir = n.Dir
	if err := cmd.Start(); err != nil {
		n.mu.Unlock()
		t.Fatalf("start redis-server: %v", err)
	}
	exit := make(chan struct{})
	n.cmd, n.exit = cmd, exit
	n.mu.Unlock()
	go func() { cmd.Wait(); close(exit) }()
	n.waitPing(t, 10*time.Second)
}

// waitPing waits until the node answers PING (a LOADING answer counts as not yet).
func (n *Node) waitPing(t testing.TB, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	// First the port, quietly (go-redis logs every refused dial).
	for {
		conn, err := net.DialTimeout("tcp", n.Addr, time.Second)
		if err == nil {
			conn.Close()
			break
		}
		select {
		case <-n.exit:
			t.Fatalf("redis-server %s exited at start:\n%s", n.Addr, n.Log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server %s does not listen after %v: %v\n%s", n.Addr, within, err, n.Log())
		}
		time.Sleep(10 * time.Millisecond)
	}
	c := redis.NewClient(&redis.Options{Addr: n.Addr, Password: n.password, MaxRetries: -1, DialTimeout: time.Second, DialerRetries: 1})
	defer c.Close()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		select {
		case <-n.exit:
			t.Fatalf("redis-server %s exited at start:\n%s", n.Addr, n.Log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server %s does not answer PING after %v: %v\n%s", n.Addr, within, err, n.Log())
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

// Kill stops the node with SIGKILL, as a crash would, and waits for it to exit.
func (n *Node) Kill(t testing.TB) {
	t.Helper()
	n.mu.Lock()
	cmd, exit := n.cmd, n.exit
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exit
}

// Restart starts a killed node again on the same port and directory: it reloads its
// AOF, and a Cluster node rejoins with its nodes.conf.
func (n *Node) Restart(t testing.TB) {
	t.Helper()
	n.Kill(t)
	n.start(t)
}

// Running reports whether the process is alive.
func (n *Node) Running() bool {
	n.mu.Lock()
	exit := n.exit
	n.mu.Unlock()
	select {
	case <-exit:
		return false
	default:
		return true
	}
}

func (n *Node) stop() {
	n.mu.Lock()
	cmd, exit, client := n.cmd, n.exit, n.client
	n.client = nil
	n.mu.Unlock()
	if client != nil {
		client.Close()
	}
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-exit:
	case <-time.After(5 * time.Second):
	}
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
	conf := []string{"appendonly no"}
	if opts.AOF {
		fsync := opts.Fsync
		if fsync == "" {
			fsync = "everysec"
		}
		conf = []string{"appendonly yes", "appendfsync " + fsync}
	}
	if opts.Password != "" {
		conf = append(conf, "requirepass "+opts.Password)
	}
	conf = append(conf, opts.Config...)
	n := newNode(t, bin, "single", conf, false)
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
