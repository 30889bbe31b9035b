// Command paylink is a Slack bot that creates Dojo payment links from a slash command
// and reports in the channel when they are paid.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"github.com/paylink/paylink/bot"
	"github.com/paylink/paylink/bot/digest"
	"github.com/paylink/paylink/bot/metrics"
	"github.com/paylink/paylink/bot/payments"
	"github.com/paylink/paylink/bot/slackin"
	"github.com/paylink/paylink/bot/slackout"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	redis.SetLogger(redisLogFor(os.Args, os.Stdout))
	if err := run(ctx, os.Args, os.LookupEnv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "paylink:", err)
		os.Exit(1)
	}
}

// shutdownGrace bounds a clean shutdown: in-flight requests, then background work.
const shutdownGrace = 20 * time.Second

// usage describes the subcommands.
const usage = `usage: paylink [command] [flags]

commands:
  serve                       run the bot (the default)
  demo [--port 8080]          try paylink in a local playground: a fake Slack channel and
                              a fake Dojo in your browser, no accounts or secrets needed
  check                       check the Slack token, the Dojo key and Redis, and say what to fix
  webhook register --url URL  subscribe URL to Dojo's payment_intent.status_updated events
  webhook send --url URL --intent ID [--status Captured]
                              send a signed test event to a running paylink
  audit [--since 24h]         print the audit trail as CSV
  digest [--date D] [--post]  print (or post) the daily digest of a day
  version                     print paylink's version

"paylink COMMAND --help" (or "paylink help COMMAND") says more about each.
Configuration comes from the environment; see README.md.
`

const serveUsage = `usage: paylink [serve]

Runs the bot: Slack's slash commands, buttons and events, Dojo's webhooks, health and
metrics on one HTTP listener (PAYLINK_LISTEN, else every interface on PORT, 8080 by
default), until SIGINT or SIGTERM; then it finishes the requests and work in flight.
Configuration comes from the environment (SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN and
DOJO_API_KEY are required); README.md describes every variable. It takes no flags.
`

// run dispatches to a subcommand; with none it serves.
func run(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 1 {
		cmd = args[1]
	}
	var rest []string
	if len(args) > 2 {
		rest = args[2:]
	}
	switch cmd {
	case "serve":
		fs := newSubcommandFlags("serve", serveUsage, stdout)
		if help, err := parseFlags(fs, rest); help || err != nil {
			return err
		}
		return serve(ctx, lookup, stdout, stderr)
	case "check":
		return runCheck(ctx, rest, lookup, stdout)
	case "webhook":
		return runWebhook(ctx, rest, lookup, stdout)
	case "audit":
		return runAudit(ctx, rest, lookup, stdout)
	case "digest":
		return runDigest(ctx, rest, lookup, stdout, time.Now())
	case "demo":
		return runDemo(ctx, rest, lookup, stdout)
	case "version":
		return runVersion(rest, stdout)
	case "help", "-h", "-help", "--help":
		if len(rest) == 1 && rest[0] != "help" && !strings.HasPrefix(rest[0], "-") {
			return run(ctx, []string{args[0], rest[0], "--help"}, lookup, stdout, stderr)
		}
		if len(rest) > 0 {
			fmt.Fprint(stderr, usage)
			return fmt.Errorf("help: say which command, as in paylink help check")
		}
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// newSubcommandFlags returns the flag set of a subcommand whose --help prints text
// and its flags, if any, to stdout.
func newSubcommandFlags(name, text string, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), text)
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprint(fs.Output(), "\nflags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// serve builds paylink from its configuration and serves until ctx ends, then shuts
// down cleanly: it stops accepting requests, finishes the ones in flight, drains
// background work, and closes Redis.
func serve(ctx context.Context, lookup func(string) (string, bool), stdout, stderr io.Writer) error {
	return serveWith(ctx, lookup, stdout, nil)
}

// serveWith is serve, calling started (when not nil) with the listener's address once
// paylink takes requests.
func serveWith(ctx context.Context, lookup func(string) (string, bool), stdout io.Writer, started func(net.Addr)) error {
	cfg, warnings, err := loadConfig(lookup)
	if err != nil {
		return err
	}
	log := zerolog.New(stdout).Level(cfg.LogLevel).With().Timestamp().Str("service", "paylink").Logger()
	for _, w := range warnings {
		log.Warn().Msg(w)
	}
	// The one clock every part tells time by.
	clock := clockwork.NewRealClock()

	rdb, closeRedis, err := openRedis(ctx, log, clock, cfg.RedisURL, cfg.RedisPrefix)
	if err != nil {
		return err
	}
	defer closeRedis()
	st := store.New(rdb, store.Options{Prefix: cfg.RedisPrefix, MinReplicas: cfg.RedisMinReplicas, WaitTimeout: cfg.RedisWaitTimeout,
		Now: clock.Now, Location: cfg.Days.Location})

	meters := metrics.New(clock)
	meters.SetVersion(currentVersion())
	dojoHTTP := newHTTPClient(cfg.DojoTimeout)
	dojoHTTP.Transport = meters.DojoTransport(dojoHTTP.Transport)
	links := dojo.NewClient(dojo.Config{
		BaseURL:    cfg.DojoAPIURL,
		APIKey:     cfg.DojoAPIKey,
		Version:    cfg.DojoAPIVersion,
		HTTPClient: dojoHTTP,
		Timeout:    cfg.DojoTimeout,
		Clock:      clock,
	})
	slackHTTP := newHTTPClient(10 * time.Second)
	api := slack.New(cfg.SlackBotToken, slack.OptionAPIURL(cfg.SlackAPIURL), slack.OptionHTTPClient(slackHTTP))

	if len(cfg.DojoWebhookSecrets) == 0 {
		log.Warn().Msg("DOJO_WEBHOOK_SECRET is not set: " + bot.PathDojoWebhooks + " answers 503 and only reconciliation reports payments")
	}

	tasks := bot.NewTasks(log)
	chat := slackout.NewChat(slackHTTP, cfg.SlackAPIURL, cfg.SlackBotToken)
	deps := bot.Deps{
		Log: log,
		Config: bot.Config{
			CheckoutURL:    cfg.DojoCheckoutURL,
			PaymentSource:  cfg.DojoPaymentSource,
			TestMode:       dojo.IsSandboxKey(cfg.DojoAPIKey),
			MaxAmounts:     cfg.MaxAmounts,
			AckBudget:      cfg.AckBudget,
			SlowNotice:     cfg.SlowNotice,
			MaxInFlight:    cfg.MaxInFlight,
			WorkTimeout:    cfg.workTimeout(),
			RetypeWindow:   cfg.RetypeWindow,
			WebhookSecrets: cfg.DojoWebhookSecrets,
			Policy:         cfg.Policy,
		},
		Verifier:   slackin.NewVerifier(cfg.SlackSigningSecret, clock.Now),
		Links:      links,
		Store:      st,
		Slack:      api,
		Chat:       chat,
		HTTPClient: slackHTTP,
		Tasks:      tasks,
		Clock:      clock,
		Metrics:    meters,
	}
	handler := bot.NewServer(deps)
	pay := payments.Deps{
		Log:         log,
		Store:       st,
		Dojo:        links,
		Chat:        chat,
		CheckoutURL: cfg.DojoCheckoutURL,
		TestMode:    dojo.IsSandboxKey(cfg.DojoAPIKey),
		Clock:       clock,
		Metrics:     meters,
		Notify:      cfg.Notify,
		Reconcile:   cfg.Reconcile,
		Due:         cfg.Due,
		Consumer:    consumerName(),
		Posted:      func(ctx context.Context, l *store.Link) { handler.Home().Changed(ctx, l) },
	}

	// The notifier, the reconciler and the sweep of links come due run until shutdown,
	// beside the HTTP server.
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var workers sync.WaitGroup
	workers.Go(func() { payments.NewNotifier(pay).Run(workCtx) })
	workers.Go(func() { payments.NewReconciler(pay).Run(workCtx) })
	workers.Go(func() { payments.NewSweeper(pay).Run(workCtx) })
	if cfg.Days.DigestChannel != "" {
		sched := &digest.Scheduler{Log: log, Store: st, Post: digest.SlackPoster(chat, clock), Channel: cfg.Days.DigestChannel,
			At: cfg.Days.DigestAt, Clock: digestClock(ctx, clock), Token: consumerName()}
		workers.Go(func() { sched.Run(workCtx) })
	}
	if cfg.SlackAppToken != "" {
		// Commands and interactions arrive over Socket Mode; HTTP still serves webhooks,
		// health and metrics.
		if !strings.HasPrefix(cfg.SlackAppToken, "xapp-") {
			log.Warn().Msg("SLACK_APP_TOKEN does not start with xapp-: is it an app-level token?")
		}
		sockAPI := slack.New(cfg.SlackBotToken, slack.OptionAppLevelToken(cfg.SlackAppToken),
			slack.OptionAPIURL(cfg.SlackAPIURL), slack.OptionHTTPClient(slackHTTP))
		log.Info().Msg("Socket Mode is on: Slack commands and interactions arrive over its WebSocket")
		workers.Go(func() {
			if err := handler.RunSocketMode(workCtx, sockAPI); err != nil && workCtx.Err() == nil {
				log.Error().Err(err).Msg("Socket Mode stopped")
			}
		})
	}

	if cfg.DebugAddr != "" {
		// Go's profiler, on its own listener (keep it off the public one).
		dbg := &http.Server{Addr: cfg.DebugAddr, Handler: debugMux(), ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := dbg.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error().Err(err).Msg("debug listener")
			}
		}()
		defer dbg.Close()
		log.Warn().Str("addr", cfg.DebugAddr).Msg("profiler listening: /debug/pprof/")
	}

	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          nil,
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	cfg.logFields(log.Info()).Str("addr", ln.Addr().String()).Str("version", currentVersion()).Bool("test_mode", dojo.IsSandboxKey(cfg.DojoAPIKey)).Msg("paylink started")
	if started != nil {
		started(ln.Addr())
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}

	log.Info().Msg("shutting down: finishing requests in flight")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Error().Err(err).Msg("http shutdown")
	}
	if err := tasks.Drain(sctx); err != nil {
		log.Error().Err(err).Msg("background work cut short at shutdown")
	}
	stopWork()
	workers.Wait()
	log.Info().Msg("paylink stopped")
	return nil
}

// consumerName names this process in the notification consumer group: its host and pid.
func consumerName() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}

// redisStartTimeout bounds the start-up check of each Redis server and of the first
// write.
const redisStartTimeout = 5 * time.Second

// openRedis connects to REDIS_URL and checks it can be written, or starts an embedded
// in-process Redis, whose TTLs follow clock, when it is empty. The returned func closes
// what was opened.
func openRedis(ctx context.Context, log zerolog.Logger, clock clockwork.Clock, rawURL, prefix string) (redis.UniversalClient, func(), error) {
	if rawURL == "" {
		e, err := store.Embedded(store.EmbeddedOptions{Now: clock.Now})
		if err != nil {
			return nil, nil, err
		}
		log.Warn().Msg("REDIS_URL is not set: using an embedded in-process Redis; links and payments are lost when paylink stops, and replicas can't share it")
		return e.Client(), func() { e.Close() }, nil
	}
	rdb, rc, warnings, err := store.Open(ctx, rawURL, store.OpenOptions{Prefix: prefix, Timeout: redisStartTimeout})
	if err != nil {
		return nil, nil, err
	}
	for _, w := range warnings {
		log.Warn().Str("redis", rc.String()).Msg(w)
	}
	return rdb, func() { rdb.Close() }, nil
}

// newHTTPClient returns a client for outbound API calls, each request bounded by
// timeout, with enough idle connections for bursts.
func newHTTPClient(timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 128
	t.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: deadlineTransport{next: t, timeout: timeout}}
}

// deadlineTransport bounds each request, its body included, with a context deadline.
// http.Client.Timeout would do the same with two goroutines per request in flight;
// with Dojo slow and hundreds of creates under way, those add up.
type deadlineTransport struct {
	next    http.RoundTripper
	timeout time.Duration
}

func (t deadlineTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if d, ok := req.Context().Deadline(); ok && time.Until(d) <= t.timeout {
		// The caller's own deadline comes first, and bounds the body as well.
		return t.next.RoundTrip(req)
	}
	ctx, cancel := context.WithTimeout(req.Context(), t.timeout)
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelOnClose ends a request's context when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// redisLogFor is where go-redis's own messages go for the command in args: into the
// JSON log for serve and demo; nowhere for the commands whose output a person reads,
// such as check's checklist, which reports Redis's state itself.
func redisLogFor(args []string, stdout io.Writer) redisLogger {
	cmd := "serve"
	if len(args) > 1 {
		cmd = args[1]
	}
	if cmd != "serve" && cmd != "demo" {
		return redisLogger{log: zerolog.Nop()}
	}
	return redisLogger{log: zerolog.New(stdout).With().Timestamp().Str("service", "paylink").Str("component", "redis").Logger()}
}

// redisLogger sends go-redis's own messages (pool dial failures and the like) to the JSON
// log at warn level, instead of plain text on stderr.
type redisLogger struct{ log zerolog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.Warn().Msgf(format, v...)
}
