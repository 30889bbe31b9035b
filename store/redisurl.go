package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Topology is the shape of the Redis deployment a REDIS_URL names.
type Topology string

const (
	// Single is one Redis server (redis:// or rediss://).
	Single Topology = "single"
	// Sentinel is a master and its replicas watched by Redis Sentinel
	// (master_name=…; the URL's host and every addr=… are sentinels).
	Sentinel Topology = "sentinel"
	// Cluster is Redis Cluster (cluster=true; the URL's host and every addr=… are seed
	// nodes).
	Cluster Topology = "cluster"
)

// Client timeouts. Together they bound how long paylink keeps using a Redis node that
// died: a failover is noticed within a few seconds of the promotion, not the tens of
// seconds go-redis's defaults allow (5 s per dial attempt, 5 attempts, and a Cluster
// slot map refreshed only on MOVED or once a minute). A value given in the URL
// (dial_timeout=…, read_timeout=…) wins over these.
const (
	// dialTimeout bounds one TCP connect. A node that is gone (its host too) costs
	// dialTimeout × dialAttempts before the command fails.
	dialTimeout  = 2 * time.Second
	dialAttempts = 2
	// ioTimeout bounds one reply. paylink's commands and scripts are small and answer
	// in milliseconds; XREADGROUP's BLOCK adds its own wait on top (go-redis does that).
	ioTimeout = 3 * time.Second
	// poolTimeout bounds the wait for a free connection when every one is busy.
	poolTimeout = 4 * time.Second
	// clusterReloadInterval bounds how stale the Cluster slot map may get while
	// commands flow: go-redis reloads it lazily (in the background, one CLUSTER SLOTS)
	// when a command finds it older than this. A network error reloads it at once too
	// (see reloadOnNetworkError), so this is the backstop.
	clusterReloadInterval = 2 * time.Second
)

// RedisConfig is a parsed REDIS_URL. Its String form never contains a password.
type RedisConfig struct {
	Topology Topology
	// Addrs are the servers the URL names: the node (Single), the sentinels (Sentinel)
	// or the seed nodes (Cluster).
	Addrs []string
	// MasterName is the Sentinel master's name.
	MasterName string
	DB         int
	TLS        bool

	single   *redis.Options
	failover *redis.FailoverOptions
	cluster  *redis.ClusterOptions
	secrets  []string // every form of every password in the URL, for redaction
}

// ParseRedisURL reads a REDIS_URL:
//
//	redis://[:password@]host:6379/0                  one server (rediss:// for TLS)
//	redis://[:password@]sentinel-a:26379/0?master_name=mymaster&addr=sentinel-b:26379
//	redis://[:password@]node-a:6379?cluster=true&addr=node-b:6379
//
// With Sentinel, the URL's password is the Redis master's (and its replicas');
// sentinel_password=… sets the sentinels' own, when they have one. go-redis's other
// query options (dial_timeout, pool_size, …) are accepted. The error never contains a
// password.
func ParseRedisURL(raw string) (*RedisConfig, error) {
	raw = strings.TrimSpace(raw)
	c := &RedisConfig{}
	u, err := url.Parse(raw)
	c.secrets = urlSecrets(raw, u)
	if err != nil {
		return nil, c.redactErr(fmt.Errorf("REDIS_URL is not a URL: %w", err))
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, errors.New("REDIS_URL is not a redis:// or rediss:// URL")
	}
	if u.Host == "" {
		return nil, errors.New("REDIS_URL names no host: write it as redis://[:password@]host:6379/0")
	}
	c.TLS = u.Scheme == "rediss"
	q := u.Query()
	cluster := q.Get("cluster")
	sentinelPassword := q.Get("sentinel_password")
	q.Del("cluster")
	q.Del("sentinel_password")
	u.RawQuery = q.Encode()

	switch {
	case q.Get("master_name") != "":
		if cluster != "" && cluster != "false" {
			return nil, errors.New("REDIS_URL asks for both Sentinel (master_name) and Cluster (cluster=true): choose one")
		}
		opt, err := redis.ParseFailoverURL(u.String())
		if err != nil {
			return nil, c.redactErr(fmt.Errorf("REDIS_URL (Sentinel): %w", err))
		}
		// go-redis gives the URL's password to the sentinels; paylink's URL names the
		// data nodes' password there, as for a single server.
		if opt.Password == "" {
			opt.Username, opt.Password = opt.SentinelUsername, opt.SentinelPassword
		}
		opt.SentinelUsername, opt.SentinelPassword = "", sentinelPassword
		tuneFailover(opt)
		c.Topology, c.failover = Sentinel, opt
		c.Addrs, c.MasterName, c.DB = opt.SentinelAddrs, opt.MasterName, opt.DB
	case cluster == "true" || cluster == "1":
		if db := strings.Trim(u.Path, "/"); db != "" && db != "0" {
			return nil, fmt.Errorf("REDIS_URL (Cluster): database %q: Redis Cluster has only database 0", db)
		}
		u.Path = ""
		opt, err := redis.ParseClusterURL(u.String())
		if err != nil {
			return nil, c.redactErr(fmt.Errorf("REDIS_URL (Cluster): %w", err))
		}
		tuneCluster(opt)
		c.Topology, c.cluster, c.Addrs = Cluster, opt, opt.Addrs
	case cluster != "" && cluster != "false" && cluster != "0":
		return nil, fmt.Errorf("REDIS_URL: cluster=%q: write cluster=true", cluster)
	default:
		if sentinelPassword != "" {
			return nil, errors.New("REDIS_URL: sentinel_password is set but master_name is not")
		}
		opt, err := redis.ParseURL(u.String())
		if err != nil {
			return nil, c.redactErr(fmt.Errorf("REDIS_URL: %w", err))
		}
		tuneSingle(opt)
		c.Topology, c.single = Single, opt
		c.Addrs, c.DB = []string{opt.Addr}, opt.DB
	}
	for _, a := range c.Addrs {
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			return nil, c.redactErr(fmt.Errorf("REDIS_URL: address %q is not host:port", a))
		}
	}
	return c, nil
}

// urlSecrets lists the passwords a URL carries, raw and escaped.
func urlSecrets(raw string, u *url.URL) []string {
	var out []string
	add := func(p string) {
		if p != "" {
			out = append(out, p, url.QueryEscape(p), url.PathEscape(p))
		}
	}
	if u != nil {
		if p, ok := u.User.Password(); ok {
			add(p)
		}
		if u.User != nil && u.User.Username() != "" {
			if _, ok := u.User.Password(); !ok {
				add(u.User.Username()) // redis://password@host: a bare password
			}
		}
		for _, k := range []string{"password", "sentinel_password"} {
			for _, v := range u.Query()[k] {
				add(v)
			}
		}
		return out
	}
	// Unparseable: guess the userinfo the way a reader would.
	if i := strings.Index(raw, "://"); i >= 0 {
		rest := raw[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			userinfo := rest[:at]
			if c := strings.Index(userinfo, ":"); c >= 0 {
				add(userinfo[c+1:])
			}
			add(userinfo)
		}
	}
	return out
}

// redactErr replaces every password of the URL in err's text.
func (c *RedisConfig) redactErr(err error) error {
	if err == nil {
		return nil
	}
	return errors.New(c.Redact(err.Error()))
}

// Redact removes the URL's passwords from s.
func (c *RedisConfig) Redact(s string) string {
	for _, p := range c.secrets {
		if len(p) > 0 {
			s = strings.ReplaceAll(s, p, "[redacted]")
		}
	}
	return s
}

// String describes the deployment without credentials, e.g.
// "cluster redis://node-a:6379,node-b:6379".
func (c *RedisConfig) String() string {
	scheme := "redis"
	if c.TLS {
		scheme = "rediss"
	}
	addrs := strings.Join(c.Addrs, ",")
	switch c.Topology {
	case Sentinel:
		return fmt.Sprintf("sentinel %s://%s/%d master %s", scheme, addrs, c.DB, c.MasterName)
	case Cluster:
		return fmt.Sprintf("cluster %s://%s", scheme, addrs)
	}
	return fmt.Sprintf("%s://%s/%d", scheme, addrs, c.DB)
}

// tuneIO sets the timeouts and dial tries every topology's client shares, where the
// URL left them unset.
func tuneIO(dial, read, write, pool *time.Duration, dialTries *int) {
	*dial = orDefault(*dial, dialTimeout)
	*read = orDefault(*read, ioTimeout)
	*write = orDefault(*write, ioTimeout)
	*pool = orDefault(*pool, poolTimeout)
	if *dialTries == 0 {
		*dialTries = dialAttempts
	}
}

func tuneSingle(o *redis.Options) {
	tuneIO(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout, &o.DialerRetries)
}

func tuneFailover(o *redis.FailoverOptions) {
	tuneIO(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout, &o.DialerRetries)
	// Every command goes to the master: a replica's data lags, and paylink's reads
	// (claims, de-duplication) decide what to write.
	o.ReplicaOnly, o.RouteByLatency, o.RouteRandomly, o.UseDisconnectedReplicas = false, false, false, false
}

func tuneCluster(o *redis.ClusterOptions) {
	tuneIO(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout, &o.DialerRetries)
	o.ClusterStateReloadInterval = orDefault(o.ClusterStateReloadInterval, clusterReloadInterval)
	// Masters only, as for Sentinel.
	o.ReadOnly, o.RouteByLatency, o.RouteRandomly = false, false, false
	// A command that meets a dead master is tried again (MaxRedirects) after a short
	// back-off; each try asks the slot map again, which a reload may have fixed.
	if o.MaxRedirects == 0 {
		o.MaxRedirects = 3
	}
	o.MinRetryBackoff = orDefault(o.MinRetryBackoff, 50*time.Millisecond)
	o.MaxRetryBackoff = orDefault(o.MaxRetryBackoff, 500*time.Millisecond)
}

func orDefault(v, def time.Duration) time.Duration {
	if v == 0 {
		return def
	}
	return v
}

// NewClient returns a client for the deployment: *redis.Client for Single and Sentinel,
// *redis.ClusterClient for Cluster. It does not connect until used.
func (c *RedisConfig) NewClient() redis.UniversalClient {
	switch c.Topology {
	case Sentinel:
		o := *c.failover
		o.SentinelAddrs = append([]string(nil), o.SentinelAddrs...)
		return redis.NewFailoverClient(&o)
	case Cluster:
		o := *c.cluster
		o.Addrs = append([]string(nil), o.Addrs...)
		cc := redis.NewClusterClient(&o)
		cc.AddHook(reloadOnNetworkError{cc})
		return cc
	}
	o := *c.single
	return redis.NewClient(&o)
}

// reloadOnNetworkError asks a Cluster client to reload its slot map when a command
// fails without a Redis answer (the node is dead or unreachable). go-redis reloads only
// on MOVED, ASK or READONLY, or when the map is older than ClusterStateReloadInterval;
// after a master is killed no node answers MOVED for its slots, so without this the
// client keeps dialing the dead node until the interval passes. The reload is lazy
// (in the background) and coalesced by go-redis, so a burst of errors costs one
// CLUSTER SLOTS every 200 ms at most.
type reloadOnNetworkError struct{ c *redis.ClusterClient }

func (h reloadOnNetworkError) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h reloadOnNetworkError) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		h.check(ctx, err)
		return err
	}
}

func (h reloadOnNetworkError) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		h.check(ctx, err)
		return err
	}
}

func (h reloadOnNetworkError) check(ctx context.Context, err error) {
	if networkError(err) {
		h.c.ReloadState(context.WithoutCancel(ctx))
	}
}

// networkError reports whether err is a failure to reach Redis rather than Redis's
// own answer (an error reply, or a nil reply). A deadline that passed counts: the
// node may hang; a cancelled call does not.
func networkError(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) || errors.Is(err, context.Canceled) {
		return false
	}
	var re redis.Error
	if errors.As(err, &re) {
		// CLUSTERDOWN and TRYAGAIN come during a failover: the map may be changing.
		msg := re.Error()
		return strings.HasPrefix(msg, "CLUSTERDOWN") || strings.HasPrefix(msg, "TRYAGAIN")
	}
	return true
}

// nodeOptions are options for a plain client on one server named by the URL (a node,
// or a sentinel when sentinel is true), for checks.
func (c *RedisConfig) nodeOptions(addr string, sentinel bool, timeout time.Duration) *redis.Options {
	o := &redis.Options{Addr: addr, DialTimeout: timeout, ReadTimeout: timeout, WriteTimeout: timeout,
		DialerRetries: 1, MaxRetries: -1, PoolSize: 1}
	switch c.Topology {
	case Single:
		o.Username, o.Password, o.TLSConfig, o.DB = c.single.Username, c.single.Password, c.single.TLSConfig, c.single.DB
	case Sentinel:
		o.TLSConfig, o.DB = c.failover.TLSConfig, c.failover.DB
		o.Username, o.Password = c.failover.Username, c.failover.Password
		if sentinel {
			o.Username, o.Password, o.DB = c.failover.SentinelUsername, c.failover.SentinelPassword, 0
		}
	case Cluster:
		o.Username, o.Password, o.TLSConfig = c.cluster.Username, c.cluster.Password, c.cluster.TLSConfig
	}
	if o.TLSConfig != nil {
		o.TLSConfig = o.TLSConfig.Clone()
		if host, _, err := net.SplitHostPort(addr); err == nil {
			o.TLSConfig.ServerName = host
		}
	}
	return o
}

// NodeStatus is what Probe found at one server.
type NodeStatus struct {
	// Role says what the server is for paylink: "node", "sentinel", "master" (the
	// master a sentinel names) or "cluster node".
	Role string
	Addr string
	// Detail says what answered, e.g. "master of 5461 slots" or "names master
	// 10.0.0.5:6379"; Err, when not nil, why the server failed (no password in it).
	Detail string
	Err    error
}

// Probe checks every server the URL names, each within timeout: a single node answers
// PING; each sentinel answers and names the master, which answers PING as a master;
// each Cluster seed node answers, and the cluster is in state ok with every slot
// served. Errors never contain a password.
func (c *RedisConfig) Probe(ctx context.Context, timeout time.Duration) []NodeStatus {
	var out []NodeStatus
	switch c.Topology {
	case Single:
		out = append(out, c.probeNode(ctx, "node", c.Addrs[0], timeout, false))
	case Sentinel:
		masters := map[string]bool{}
		var order []string
		for _, a := range c.Addrs {
			st, master := c.probeSentinel(ctx, a, timeout)
			out = append(out, st)
			if master != "" && !masters[master] {
				masters[master] = true
				order = append(order, master)
			}
		}
		if len(order) == 0 {
			out = append(out, NodeStatus{Role: "master", Addr: c.MasterName,
				Err: fmt.Errorf("no sentinel named a master called %q", c.MasterName)})
		}
		if len(order) > 1 {
			out = append(out, NodeStatus{Role: "master", Addr: strings.Join(order, ","),
				Err: errors.New("the sentinels disagree on the master")})
		}
		for _, m := range order {
			out = append(out, c.probeNode(ctx, "master", m, timeout, true))
		}
	case Cluster:
		for _, a := range c.Addrs {
			out = append(out, c.probeClusterNode(ctx, a, timeout))
		}
	}
	for i := range out {
		out[i].Err = c.redactErr(out[i].Err)
		out[i].Detail = c.Redact(out[i].Detail)
	}
	return out
}

func (c *RedisConfig) probeNode(ctx context.Context, role, addr string, timeout time.Duration, wantMaster bool) NodeStatus {
	st := NodeStatus{Role: role, Addr: addr}
	rdb := redis.NewClient(c.nodeOptions(addr, false, timeout))
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		st.Err = fmt.Errorf("PING: %w", err)
		return st
	}
	st.Detail = "answers PING"
	if wantMaster {
		role, err := rdb.Do(ctx, "ROLE").Slice()
		switch {
		case err != nil:
			st.Err = fmt.Errorf("ROLE: %w", err)
		case len(role) == 0 || role[0] != "master":
			st.Err = fmt.Errorf("is a %v, not a master: the sentinels' view is out of date", role[0])
		default:
			st.Detail = "answers PING as master"
		}
	}
	return st
}

func (c *RedisConfig) probeSentinel(ctx context.Context, addr string, timeout time.Duration) (NodeStatus, string) {
	st := NodeStatus{Role: "sentinel", Addr: addr}
	sc := redis.NewSentinelClient(c.nodeOptions(addr, true, timeout))
	defer sc.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hp, err := sc.GetMasterAddrByName(ctx, c.MasterName).Result()
	if errors.Is(err, redis.Nil) {
		st.Err = fmt.Errorf("does not know a master called %q (check master_name)", c.MasterName)
		return st, ""
	}
	if err != nil {
		st.Err = err
		return st, ""
	}
	master := net.JoinHostPort(hp[0], hp[1])
	st.Detail = "names master " + master
	return st, master
}

func (c *RedisConfig) probeClusterNode(ctx context.Context, addr string, timeout time.Duration) NodeStatus {
	st := NodeStatus{Role: "cluster node", Addr: addr}
	rdb := redis.NewClient(c.nodeOptions(addr, false, timeout))
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	info, err := rdb.ClusterInfo(ctx).Result()
	if err != nil {
		st.Err = fmt.Errorf("CLUSTER INFO: %w", err)
		return st
	}
	fields := map[string]string{}
	for _, line := range strings.Split(info, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			fields[k] = v
		}
	}
	if fields["cluster_state"] != "ok" {
		st.Err = fmt.Errorf("cluster_state is %q (slots ok: %s of 16384)", fields["cluster_state"], fields["cluster_slots_ok"])
		return st
	}
	st.Detail = "cluster_state ok, " + fields["cluster_known_nodes"] + " nodes, " + fields["cluster_size"] + " masters"
	return st
}

// OpenOptions tune Open.
type OpenOptions struct {
	Prefix  string        // key prefix of the readiness write; default DefaultPrefix
	Timeout time.Duration // for each server, and for the write; default 5 s
}

// Open parses rawURL, connects, and checks that the deployment can be written: a
// start-up check. It fails, naming the problem and never the password, when the URL is
// malformed, the deployment can't be written (Ready), or, for a single server, it does
// not answer. A sentinel or Cluster seed node that does not answer while the
// deployment works is reported in warnings: the set keeps working without it, and
// refusing to start would make one dead node stop every paylink that restarts. The
// caller closes the client.
func Open(ctx context.Context, rawURL string, opts OpenOptions) (redis.UniversalClient, *RedisConfig, []string, error) {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	cfg, err := ParseRedisURL(rawURL)
	if err != nil {
		return nil, nil, nil, err
	}
	var warnings []string
	var failed []string
	statuses := cfg.Probe(ctx, timeout)
	for _, st := range statuses {
		if st.Err != nil {
			failed = append(failed, fmt.Sprintf("%s %s: %v", st.Role, st.Addr, st.Err))
		}
	}
	if cfg.Topology == Single && len(failed) > 0 {
		//lint:ignore ST1005 the operator reads this sentence as it is when paylink stops at start.
		return nil, cfg, nil, fmt.Errorf("Redis at %s: %s", cfg, strings.TrimPrefix(failed[0], "node "+cfg.Addrs[0]+": "))
	}
	rdb := cfg.NewClient()
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := New(rdb, Options{Prefix: opts.Prefix}).Ready(pctx); err != nil {
		rdb.Close()
		msg := strings.TrimPrefix(cfg.Redact(err.Error()), "store: ready: ")
		if len(failed) > 0 {
			msg += " (" + strings.Join(failed, "; ") + ")"
		}
		//lint:ignore ST1005 the operator reads this sentence as it is when paylink stops at start.
		return nil, cfg, nil, fmt.Errorf("Redis at %s can't be written: %s", cfg, msg)
	}
	for _, f := range failed {
		warnings = append(warnings, "Redis "+f)
	}
	return rdb, cfg, warnings, nil
}

// readyTTL is how long the readiness key lives.
const readyTTL = 10 * time.Second

// Ready reports whether paylink can write where it keeps its notification flow: the
// node serving the {events} hash-tag slot on Cluster, the master on Sentinel, the
// server otherwise. It writes a short-lived key, so a demoted master (READONLY), a
// node in a failed slot range (CLUSTERDOWN) or one out of memory fails it, as do
// network errors. One round trip.
func (s *Store) Ready(ctx context.Context) error {
	err := s.rdb.Set(ctx, s.prefix+"{events}:ready", strconv.FormatInt(s.now().UnixMilli(), 10), readyTTL).Err()
	if err != nil {
		return fmt.Errorf("store: ready: %w", err)
	}
	return nil
}
