package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/paylink/paylink/bot"
	"github.com/paylink/paylink/bot/fakeslack"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/dojo/dojotest"
	"github.com/paylink/paylink/dojo/safetext"
	"github.com/paylink/paylink/store"
	"github.com/paylink/paylink/store/redistest"
)

// maxRecovery is how soon after Redis is reachable again paylink must accept webhooks
// and post notices.
const maxRecovery = 10 * time.Second

// topologyResult is what one scenario measured.
type topologyResult struct {
	name            string
	intents         int
	paid            int // "Paid" messages in Slack
	duplicates      int
	missing         int
	lostAcks        int // webhooks answered 2xx whose status Redis does not hold
	deliveries      int // webhook deliveries, redeliveries included
	refused         int // deliveries answered non-2xx or not answered
	webhookRecovery time.Duration
	noticeRecovery  time.Duration
	outage          time.Duration // from the fault to Redis reachable again
}

// TestTopologyFaults runs paylink processes against real Redis topologies (Cluster,
// Sentinel, a single node with AOF) started on free ports, breaks Redis in the middle of
// a burst of payments, and counts the "Paid" messages: none may be missing, none
// duplicated, every webhook answered 2xx must have its status in Redis at the end, and
// paylink must accept webhooks and post notices again within 10 s of Redis being
// reachable again.
func TestTopologyFaults(t *testing.T) {
	t.Parallel()
	if os.Getenv("REDIS_URL") == "" {
		t.Skip("REDIS_URL is not set: the topology fault suite runs real processes against Redis nodes it starts (CI sets it)")
	}
	if testing.Short() {
		t.Skip("-short: the topology fault suite takes minutes")
	}
	redistest.Server(t)
	bin := buildPaylink(t)

	var mu sync.Mutex
	var results []topologyResult
	record := func(r topologyResult) {
		mu.Lock()
		defer mu.Unlock()
		results = append(results, r)
	}
	t.Cleanup(func() {
		if len(results) > 0 {
			t.Log("topology fault suite:\n" + resultTable(results))
		}
	})
	// Every data node keeps an append-only file, and a replica that has to sync again
	// starts at once.
	const fsync = "everysec"
	quickSync := "repl-diskless-sync-delay 0"

	// The scenarios wait on Redis (failovers, an outage) far more than they compute:
	// they run side by side, as many at once as -parallel allows (GOMAXPROCS).
	t.Run("cluster: SIGKILL the {events} master", func(t *testing.T) {
		t.Parallel()
		c := redistest.StartCluster(t, redistest.ClusterOptions{AOF: true, Fsync: fsync, Config: []string{quickSync}})
		record(runTopologyScenario(t, topologyScenario{
			bin: bin, name: "cluster: kill {events} master", url: c.URL,
			fault: func(t *testing.T) time.Time {
				victim := c.MasterOf(t, eventsTag)
				replicas := c.ReplicasOf(t, victim)
				t.Logf("killing %s, master of slot %d", victim.Addr, redistest.Slot(eventsTag))
				victim.Kill(t)
				promoted, _ := c.WaitPromoted(t, replicas, 60*time.Second)
				t.Logf("replica %s promoted", promoted.Addr)
				return awaitWritable(t, promoted, 0)
			},
		}))
	})

	sentinelRun := func(name string, fault func(t *testing.T, s *redistest.SentinelSet) time.Time) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// Both data nodes refuse writes unless a replica is connected and at most 2 s
			// behind: roles swap on failover.
			s := redistest.StartSentinel(t, redistest.SentinelOptions{AOF: true, Fsync: fsync,
				Config: []string{quickSync, "min-replicas-to-write 1", "min-replicas-max-lag 2"}})
			record(runTopologyScenario(t, topologyScenario{
				bin: bin, name: name, url: s.URL,
				env:   env{"PAYLINK_REDIS_MIN_REPLICAS": "1"},
				fault: func(t *testing.T) time.Time { return fault(t, s) },
			}))
		})
	}
	sentinelRun("sentinel: SENTINEL FAILOVER", func(t *testing.T, s *redistest.SentinelSet) time.Time {
		master, _ := s.Failover(t, 60*time.Second)
		t.Logf("sentinels name %s the master", master.Addr)
		return awaitMasterWritable(t, s, 1)
	})
	sentinelRun("sentinel: SIGKILL the master", func(t *testing.T, s *redistest.SentinelSet) time.Time {
		victim := s.Master(t)
		t.Logf("killing the master %s", victim.Addr)
		victim.Kill(t)
		master, _ := s.WaitNewMaster(t, victim.Addr, 60*time.Second)
		t.Logf("sentinels name %s the master", master.Addr)
		// The killed node is started again, as a supervisor would: the new master takes
		// writes only with a replica connected.
		victim.Start(t)
		return awaitMasterWritable(t, s, 1)
	})

	singleRun := func(name string, down time.Duration) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			n := redistest.StartSingle(t, redistest.SingleOptions{AOF: true, Fsync: "always"})
			record(runTopologyScenario(t, topologyScenario{
				bin: bin, name: name, url: n.URL,
				fault: func(t *testing.T) time.Time {
					n.Stop(t)
					time.Sleep(down) // the outage itself
					n.Start(t)
					return awaitWritable(t, n.Node, 0)
				},
			}))
		})
	}
	singleRun("single AOF: restart", 0)
	singleRun("single AOF: down 20s", 20*time.Second)
}

// eventsTag is the hash tag of the keys a status change writes: the slot a Cluster
// fault is aimed at.
const eventsTag = "{events}"

// awaitWritable waits until n takes a write to the {events} slot that replicas (0:
// none needed) acknowledge, and returns when it did: paylink can use Redis again.
func awaitWritable(t *testing.T, n *redistest.Node, replicas int) time.Time {
	t.Helper()
	return awaitWritableAt(t, func() *redistest.Node { return n }, replicas)
}

// awaitMasterWritable is awaitWritable for whichever node the sentinels name as master
// at each try: on a loaded machine they may fail over once more (their down-after is
// 1 s), and the master first named is then a replica that never takes writes.
func awaitMasterWritable(t *testing.T, s *redistest.SentinelSet, replicas int) time.Time {
	t.Helper()
	return awaitWritableAt(t, func() *redistest.Node { return s.Master(t) }, replicas)
}

func awaitWritableAt(t *testing.T, node func() *redistest.Node, replicas int) time.Time {
	t.Helper()
	ctx := context.Background()
	var n *redistest.Node
	var at time.Time
	if !waitUntil(60*time.Second, func() bool {
		n = node()
		c := n.Client()
		if c.Set(ctx, "topology-probe:"+eventsTag, time.Now().UnixNano(), time.Minute).Err() != nil {
			return false
		}
		if replicas > 0 {
			if acked, err := c.Wait(ctx, replicas, 500*time.Millisecond).Result(); err != nil || acked < int64(replicas) {
				return false
			}
		}
		at = time.Now()
		return true
	}) {
		t.Fatalf("%s does not take writes (acknowledged by %d replicas) within 60s", n.Addr, replicas)
	}
	t.Logf("%s takes writes", n.Addr)
	return at
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

// topologyScenario is one run: paylink against url, with fault applied mid-burst.
type topologyScenario struct {
	bin  string
	name string
	url  string
	env  env
	// fault breaks Redis and returns when Redis is reachable again (and when that was).
	fault func(t *testing.T) time.Time
	// intents, replicas, rate and slackLatency default to 300, 2, 40 webhooks a second
	// and 60 ms.
	intents      int
	replicas     int
	rate         float64
	slackLatency time.Duration
}

// delivery is one webhook POST and its answer.
type delivery struct {
	intent   string
	sent     time.Time
	answered time.Time
	code     int // 0: no answer
}

var paidRef = regexp.MustCompile(`Paid: \S+ for (\S+)`)

// logIDs are the parts of a log message that differ from one payment to the next.
var logIDs = regexp.MustCompile(`pi_[A-Za-z0-9_-]+|\b\d{10,}-\d+\b`)

// runTopologyScenario makes the links with /paylink, marks them paid at the fake Dojo,
// delivers a Captured webhook for each at a steady rate from several goroutines
// (redelivering, as Dojo does, until it gets a 2xx), breaks Redis once a third of them
// are sent, waits until nothing more happens, and counts the "Paid" messages.
func runTopologyScenario(t *testing.T, sc topologyScenario) topologyResult {
	if sc.intents == 0 {
		sc.intents = 300
	}
	if sc.replicas == 0 {
		sc.replicas = 2
	}
	if sc.rate == 0 {
		sc.rate = 40
	}
	if sc.slackLatency == 0 {
		sc.slackLatency = 60 * time.Millisecond
	}
	res := topologyResult{name: sc.name, intents: sc.intents}
	d := dojotest.NewServer(t, dojotest.WithAPIKey(testDojoKey))
	s := fakeslack.New(t, fakeslack.WithToken(testBotToken))
	e := env{
		"PATH": os.Getenv("PATH"), "SLACK_SIGNING_SECRET": testSigningSecret, "SLACK_BOT_TOKEN": testBotToken,
		"SLACK_API_URL": s.APIURL(), "DOJO_API_KEY": testDojoKey, "DOJO_API_URL": d.URL,
		"DOJO_WEBHOOK_SECRET": testWebhookSecret, "REDIS_URL": sc.url,
		"PAYLINK_NOTIFY_CLAIM_IDLE": "1s", "PAYLINK_NOTIFY_RETRY_BASE": "100ms", "PAYLINK_NOTIFY_RETRY_MAX": "1s",
		"PAYLINK_NOTIFY_MAX_ATTEMPTS": "100", "PAYLINK_RATE_LIMIT": "off", "LOG_LEVEL": "info",
		// Reconciliation would announce a payment whose acknowledged webhook Redis lost;
		// here only webhooks may announce payments.
		"PAYLINK_RECONCILE_INTERVAL": "1h",
	}
	for k, v := range sc.env {
		e[k] = v
	}
	var procs []*process
	var urls []string
	for range sc.replicas {
		port := freePort(t)
		pe := env{"PORT": port}
		for k, v := range e {
			pe[k] = v
		}
		u := "http://127.0.0.1:" + port
		procs = append(procs, startProcess(t, sc.bin, u, pe))
		urls = append(urls, u)
	}
	defer func() {
		summary := logSummary(procs)
		if summary != "" {
			t.Logf("paylink warnings and errors (count, level, message, error):\n%s", summary)
		}
	}()

	ids, refs := makeTopologyLinks(t, d, s, urls, sc.intents)
	for _, id := range ids {
		d.SetStatus(id, dojo.StatusCaptured)
	}
	// Slack answers in tens of milliseconds, not microseconds: notices are on their way
	// to Slack when Redis goes away, as they would be in production.
	s.SetLatency(sc.slackLatency)

	// Webhooks: a ticker releases one intent per 1/rate; workers deliver, and a refused
	// delivery comes back after a pause (200 ms doubling to 1 s), as Dojo redelivers.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	queue := make(chan int, sc.intents)
	var mu sync.Mutex
	var log []delivery
	var firstSent, accepted atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Duration(float64(time.Second) / sc.rate))
		defer tick.Stop()
		for i := range ids {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			queue <- i
		}
	})
	attempts := make([]int, len(ids))
	for range 6 {
		wg.Go(func() {
			for {
				var i int
				select {
				case <-done:
					return
				case <-ctx.Done():
					return
				case i = <-queue:
				}
				mu.Lock()
				attempts[i]++
				n := attempts[i]
				mu.Unlock()
				if n == 1 {
					firstSent.Add(1)
				}
				dl := delivery{intent: ids[i], sent: time.Now()}
				rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
				code, err := dojotest.SendWebhook(rctx, urls[(i+n)%len(urls)]+bot.PathDojoWebhooks, testWebhookSecret, dojotest.Event(ids[i], dojo.StatusCaptured))
				rcancel()
				if err == nil {
					dl.code = code
				}
				dl.answered = time.Now()
				mu.Lock()
				log = append(log, dl)
				mu.Unlock()
				if dl.code/100 == 2 {
					if accepted.Add(1) == int64(len(ids)) {
						close(done)
					}
					continue
				}
				pause := min(200*time.Millisecond<<min(n-1, 3), time.Second)
				time.AfterFunc(pause, func() { queue <- i })
			}
		})
	}

	// The fault, once a third of the webhooks have gone out.
	if !waitUntil(60*time.Second, func() bool { return firstSent.Load() >= int64(len(ids)/3) }) {
		cancel()
		wg.Wait()
		t.Fatalf("only %d of %d webhooks sent after 60s", firstSent.Load(), len(ids))
	}
	faultAt := time.Now()
	reachable := sc.fault(t)
	res.outage = reachable.Sub(faultAt)
	t.Logf("Redis reachable again %v after the fault began", res.outage.Round(time.Millisecond))

	select {
	case <-done:
	case <-time.After(90 * time.Second):
		t.Errorf("%d of %d webhooks still refused 90s after Redis was reachable again", len(ids)-int(accepted.Load()), len(ids))
	}
	cancel()
	wg.Wait()

	// Quiescence: every intent announced, or nothing new for a while, and no notice left
	// queued in Redis.
	rdb := topologyClient(t, sc.url)
	lastCount, lastChange := -1, time.Now()
	waitUntil(60*time.Second, func() bool {
		n := len(notices(s, "Paid:"))
		if n != lastCount {
			lastCount, lastChange = n, time.Now()
		}
		quiet := time.Since(lastChange) >= 3*time.Second
		return quiet && (n >= len(ids) || time.Since(lastChange) >= 10*time.Second) && notifyBacklog(rdb) == 0
	})

	// Counts.
	perRef := map[string]int{}
	for _, c := range notices(s, "Paid:") {
		if m := paidRef.FindStringSubmatch(c.Text); m != nil {
			perRef[m[1]]++
			res.paid++
		}
	}
	lostAcks := unrecorded(t, rdb, ids)
	res.lostAcks = len(lostAcks)
	for _, ref := range refs {
		switch n := perRef[ref]; {
		case n == 0:
			res.missing++
		case n > 1:
			res.duplicates += n - 1
		}
	}

	// Recovery: the first 2xx answer, and the first "Paid" posted, after Redis was
	// reachable again.
	mu.Lock()
	res.deliveries = len(log)
	firstOK := time.Time{}
	for _, dl := range log {
		if dl.code/100 != 2 {
			res.refused++
		} else if !dl.answered.Before(reachable) && (firstOK.IsZero() || dl.answered.Before(firstOK)) {
			firstOK = dl.answered
		}
	}
	mu.Unlock()
	// When everything was done before Redis came back, there was nothing to recover.
	switch {
	case !firstOK.IsZero():
		res.webhookRecovery = firstOK.Sub(reachable)
	case int(accepted.Load()) == len(ids):
		res.webhookRecovery = 0
	default:
		res.webhookRecovery = -1
	}
	res.noticeRecovery = -1
	if len(perRef) == len(refs) {
		res.noticeRecovery = 0
	}
	for _, c := range notices(s, "Paid:") {
		if !c.At.Before(reachable) {
			res.noticeRecovery = c.At.Sub(reachable)
			break
		}
	}

	t.Logf("%s: %d intents, %d webhook deliveries (%d refused), %d Paid messages, %d missing, %d duplicated, %d acknowledged but not in Redis; Redis reachable %v after the fault; first 2xx webhook %v and first Paid %v after that",
		sc.name, res.intents, res.deliveries, res.refused, res.paid, res.missing, res.duplicates, res.lostAcks,
		res.outage.Round(time.Millisecond), fmtRecovery(res.webhookRecovery), fmtRecovery(res.noticeRecovery))
	if res.missing != 0 {
		var miss []string
		for _, ref := range refs {
			if perRef[ref] == 0 {
				miss = append(miss, ref)
			}
		}
		t.Errorf("%d payments never announced: %s", res.missing, strings.Join(firstN(miss, 20), " "))
	}
	if res.duplicates != 0 {
		var dup []string
		for _, ref := range refs {
			if perRef[ref] > 1 {
				dup = append(dup, fmt.Sprintf("%s×%d", ref, perRef[ref]))
			}
		}
		t.Errorf("%d duplicated Paid messages: %s", res.duplicates, strings.Join(firstN(dup, 20), " "))
	}
	if res.lostAcks != 0 {
		// Nothing shows it now (the notice may have gone out before Redis lost it), but
		// reconciliation would announce such a payment again.
		t.Errorf("%d webhooks answered 2xx whose Captured status Redis no longer holds: %s", res.lostAcks, strings.Join(firstN(lostAcks, 10), " "))
	}
	if res.webhookRecovery < 0 || res.webhookRecovery > maxRecovery {
		t.Errorf("first webhook accepted %s after Redis was reachable again, want within %v", fmtRecovery(res.webhookRecovery), maxRecovery)
	}
	if res.noticeRecovery < 0 || res.noticeRecovery > maxRecovery {
		t.Errorf("first Paid posted %s after Redis was reachable again, want within %v", fmtRecovery(res.noticeRecovery), maxRecovery)
	}
	return res
}

// makeTopologyLinks makes n links with /paylink, from several goroutines spread over the
// processes, and waits until every link card is posted. It returns the intent ids and
// their references.
func makeTopologyLinks(t *testing.T, d *dojotest.Server, s *fakeslack.Server, urls []string, n int) ([]string, []string) {
	t.Helper()
	refs := make([]string, n)
	for i := range refs {
		refs[i] = fmt.Sprintf("topo-%04d", i)
	}
	work := make(chan int, n)
	for i := range n {
		work <- i
	}
	close(work)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range work {
				h := &harness{t: t, url: urls[i%len(urls)], slack: s}
				form := h.commandForm(fmt.Sprintf("%d.00 GBP %s", i%90+1, refs[i]), refs[i])
				body := form.Encode()
				ts, sig := bot.SignSlackRequest(testSigningSecret, time.Now(), []byte(body))
				req, _ := http.NewRequest(http.MethodPost, h.url+bot.PathCommands, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("X-Slack-Request-Timestamp", ts)
				req.Header.Set("X-Slack-Signature", sig)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Errorf("command %s: %v", refs[i], err)
					continue
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("command %s: %d", refs[i], resp.StatusCode)
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	ids := make([]string, n)
	index := map[string]int{}
	for i, r := range refs {
		index[r] = i
	}
	posted := 0
	if !waitUntil(60*time.Second, func() bool {
		for _, pi := range d.Created() {
			if i, ok := index[pi.Reference]; ok && ids[i] == "" {
				ids[i] = pi.ID
			}
		}
		cards := map[string]bool{}
		for _, c := range s.Calls("chat.postMessage") {
			if c.Failed == "" && c.ThreadTS == "" {
				cards[c.Text] = true
			}
		}
		posted = 0
		for _, id := range ids {
			if id == "" {
				continue
			}
			for text := range cards {
				if strings.Contains(text, id) {
					posted++
					break
				}
			}
		}
		return posted == n
	}) {
		t.Fatalf("%d of %d link cards posted after 60s", posted, n)
	}
	if len(d.Created()) != n {
		t.Fatalf("Dojo holds %d intents for %d commands", len(d.Created()), n)
	}
	return ids, refs
}

// topologyClient is a client for the scenario's Redis, as paylink connects to it.
func topologyClient(t *testing.T, url string) redis.UniversalClient {
	rc, err := store.ParseRedisURL(url)
	if err != nil {
		t.Fatalf("redis client for %s: %v", url, err)
	}
	rdb := rc.NewClient()
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// notifyBacklog returns the notices still pending or scheduled in Redis (-1 when Redis
// can't be asked).
func notifyBacklog(rdb redis.UniversalClient) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	p, err := rdb.XPending(ctx, "paylink:{events}:notify", "notifiers").Result()
	if err != nil {
		return -1
	}
	z, err := rdb.ZCard(ctx, "paylink:{events}:retry").Result()
	if err != nil {
		return -1
	}
	return p.Count + z
}

// unrecorded returns the intents whose Captured status is not in Redis, though their
// webhook was answered 2xx.
func unrecorded(t *testing.T, rdb redis.UniversalClient, ids []string) []string {
	var out []string
	for _, id := range ids {
		ok, err := rdb.HExists(context.Background(), "paylink:{events}:status:"+id, string(dojo.StatusCaptured)).Result()
		if err != nil {
			t.Errorf("status of %s: %v", id, err)
			return out
		}
		if !ok {
			out = append(out, id)
		}
	}
	return out
}

// logSummary counts the warnings and errors the processes logged, by message and error.
func logSummary(procs []*process) string {
	counts := map[string]int{}
	for _, p := range procs {
		for _, line := range strings.Split(p.out.String(), "\n") {
			var l struct {
				Level   string `json:"level"`
				Message string `json:"message"`
				Error   string `json:"error"`
			}
			if json.Unmarshal([]byte(line), &l) != nil || (l.Level != "warn" && l.Level != "error") {
				continue
			}
			msg := logIDs.ReplaceAllString(l.Message+"\t"+safetext.Truncate(l.Error, 160, "…"), "…")
			counts[l.Level+"\t"+msg]++
		}
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if counts[keys[i]] != counts[keys[j]] {
			return counts[keys[i]] > counts[keys[j]]
		}
		return keys[i] < keys[j]
	})
	var b strings.Builder
	for i, k := range keys {
		if i == 15 {
			fmt.Fprintf(&b, "(and %d more kinds)\n", len(keys)-i)
			break
		}
		fmt.Fprintf(&b, "%6d\t%s\n", counts[k], k)
	}
	return b.String()
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("(and %d more)", len(s)-n))
	}
	return s
}

func fmtRecovery(d time.Duration) string {
	if d < 0 {
		return "never"
	}
	return d.Round(10 * time.Millisecond).String()
}

func resultTable(rs []topologyResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| %-30s | %7s | %4s | %10s | %7s | %9s | %10s | %7s | %10s | %10s | %10s |\n",
		"scenario", "intents", "paid", "duplicates", "missing", "lost acks", "deliveries", "refused", "redis back", "first 2xx", "first Paid")
	for _, r := range rs {
		fmt.Fprintf(&b, "| %-30s | %7d | %4d | %10d | %7d | %9d | %10d | %7d | %10s | %10s | %10s |\n",
			r.name, r.intents, r.paid, r.duplicates, r.missing, r.lostAcks, r.deliveries, r.refused,
			r.outage.Round(10*time.Millisecond), fmtRecovery(r.webhookRecovery), fmtRecovery(r.noticeRecovery))
	}
	return b.String()
}
