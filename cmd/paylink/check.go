package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/paylink/paylink/bot"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/store"
)

const checkUsage = `usage: paylink check [--timeout 10s]

Checks the configuration in the environment: the required variables, the Slack bot
token (auth.test), the Dojo API key (a search that creates nothing), the webhook
secret and Redis (PING). It prints one line per item, OK, WARN or FAIL, with what to
fix, and exits 1 when an item fails. It never prints a token, key or secret.

flags:
`

// runCheck checks the configuration against Slack, Dojo and Redis.
func runCheck(ctx context.Context, args []string, lookup func(string) (string, bool), stdout io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stdout)
	timeout := fs.Duration("timeout", 10*time.Second, "how long each of Slack, Dojo and Redis may take to answer")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), checkUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("check: unexpected argument %q", fs.Arg(0))
	}
	if *timeout <= 0 {
		return errors.New("check: --timeout must be positive")
	}

	cfg, warnings, cfgErr := loadConfig(lookup)
	cl := &checklist{w: stdout, scrub: secretScrubber(cfg, lookup)}

	if cfgErr != nil {
		for _, line := range strings.Split(cfgErr.Error(), "\n") {
			fix := "correct the value; README.md describes every variable"
			if strings.HasPrefix(line, "missing required") {
				fix = "set them in paylink's environment; README.md describes every variable"
			}
			cl.fail("configuration", line, fix)
		}
	} else {
		cl.ok("configuration", "SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN and DOJO_API_KEY are set, and every other value is valid")
	}
	for _, w := range warnings {
		cl.warn("configuration", w)
	}

	checkSlack(ctx, cl, cfg, *timeout)
	checkDojo(ctx, cl, cfg, *timeout)
	checkWebhooks(cl, cfg)
	checkRedis(ctx, cl, cfg, *timeout)

	if cl.failed > 0 {
		return fmt.Errorf("check: %d of %d items failed", cl.failed, cl.items)
	}
	return nil
}

// checklist prints one line per item, with every secret value removed.
type checklist struct {
	w      io.Writer
	scrub  *strings.Replacer
	items  int
	failed int
}

func (c *checklist) line(status, item, text string) {
	c.items++
	text = strings.Join(strings.Fields(text), " ") // one line, whatever an error's text holds
	fmt.Fprintf(c.w, "%-4s  %s: %s\n", status, item, c.scrub.Replace(text))
}

func (c *checklist) ok(item, format string, a ...any) { c.line("OK", item, fmt.Sprintf(format, a...)) }

func (c *checklist) warn(item, text string) { c.line("WARN", item, text) }

// fail reports what is wrong and what to do about it.
func (c *checklist) fail(item, problem, fix string) {
	c.failed++
	c.line("FAIL", item, strings.TrimRight(problem, ".")+". Fix: "+fix)
}

// secretScrubber replaces every configured secret with [redacted].
func secretScrubber(cfg config, lookup func(string) (string, bool)) *strings.Replacer {
	values := []string{cfg.SlackSigningSecret, cfg.SlackBotToken, cfg.SlackAppToken, cfg.DojoAPIKey}
	values = append(values, cfg.DojoWebhookSecrets...)
	for _, name := range []string{"SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "DOJO_API_KEY", "DOJO_WEBHOOK_SECRET"} {
		if v, ok := lookup(name); ok {
			values = append(values, strings.TrimSpace(v))
		}
	}
	if u, err := url.Parse(cfg.RedisURL); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			values = append(values, p, url.QueryEscape(p))
		}
	}
	var pairs []string
	for _, v := range values {
		if len(v) >= 4 {
			pairs = append(pairs, v, "[redacted]")
		}
	}
	return strings.NewReplacer(pairs...)
}

func checkSlack(ctx context.Context, cl *checklist, cfg config, timeout time.Duration) {
	if cfg.SlackBotToken == "" {
		cl.fail("Slack", "not checked: SLACK_BOT_TOKEN is not set", "set it to the app's Bot User OAuth Token (xoxb-…), from OAuth & Permissions in the app's settings")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	api := slack.New(cfg.SlackBotToken, slack.OptionAPIURL(cfg.SlackAPIURL), slack.OptionHTTPClient(&http.Client{Timeout: timeout}))
	res, err := api.AuthTestContext(ctx)
	var se slack.SlackErrorResponse
	switch {
	case errors.As(err, &se):
		cl.fail("Slack", "auth.test answered "+se.Err, slackFix(se.Err))
	case err != nil:
		cl.fail("Slack", fmt.Sprintf("auth.test at %s failed: %v", cfg.SlackAPIURL, err), "check SLACK_API_URL (normally unset) and that paylink can reach slack.com over HTTPS")
	case res.BotID == "":
		cl.fail("Slack", fmt.Sprintf("the token belongs to the user %s (%s), not to a bot", res.User, res.UserID), "set SLACK_BOT_TOKEN to the Bot User OAuth Token (xoxb-…), not a user token")
	default:
		cl.ok("Slack", "team %s (%s), bot user @%s (%s)", res.Team, res.TeamID, res.User, res.UserID)
	}
}

// slackFix says what to do about an auth.test error code.
func slackFix(code string) string {
	switch code {
	case "invalid_auth", "not_authed":
		return "SLACK_BOT_TOKEN is wrong or revoked: reinstall the app and copy the Bot User OAuth Token"
	case "token_revoked", "token_expired":
		return "SLACK_BOT_TOKEN was revoked or has expired: reinstall the app and copy the Bot User OAuth Token (paylink does not refresh rotating tokens: keep token rotation off)"
	case "account_inactive":
		return "the app's bot user or its workspace is deactivated: reinstall the app in an active workspace and copy the Bot User OAuth Token"
	case "ratelimited":
		return "Slack is rate-limiting this token: run the check again in a minute"
	}
	return "see https://api.slack.com/methods/auth.test for what " + code + " means"
}

func checkDojo(ctx context.Context, cl *checklist, cfg config, timeout time.Duration) {
	if cfg.DojoAPIKey == "" {
		cl.fail("Dojo", "not checked: DOJO_API_KEY is not set", "set it to a secret key from Dojo's Developer Portal, developer.dojo.tech (sk_sandbox_… to try it, sk_prod_… for real payments)")
		return
	}
	c := dojo.NewClient(dojo.Config{
		BaseURL:    cfg.DojoAPIURL,
		APIKey:     cfg.DojoAPIKey,
		Version:    cfg.DojoAPIVersion,
		HTTPClient: newHTTPClient(timeout),
		Timeout:    timeout,
		Retries:    -1,
	})
	// A search proves the key works and creates nothing.
	_, err := c.SearchPaymentIntents(ctx, dojo.SearchRequest{Cursor: &dojo.Cursor{Limit: 1}})
	var de *dojo.Error
	switch {
	case err == nil:
		cl.ok("Dojo", "DOJO_API_KEY accepted by %s (API version %s); %s", cfg.DojoAPIURL, cfg.DojoAPIVersion, keyKind(cfg.DojoAPIKey))
	case !errors.As(err, &de):
		cl.fail("Dojo", err.Error(), "check DOJO_API_URL (normally unset)")
	case de.StatusCode == http.StatusUnauthorized || de.StatusCode == http.StatusForbidden:
		cl.fail("Dojo", fmt.Sprintf("Dojo refused DOJO_API_KEY (HTTP %d %s)", de.StatusCode, http.StatusText(de.StatusCode)),
			"the key is wrong, revoked or lacks permission: copy a secret key from Dojo's Developer Portal, developer.dojo.tech (sk_sandbox_… to try it, sk_prod_… for real payments)")
	case de.Timeout:
		cl.fail("Dojo", fmt.Sprintf("%s did not answer within %v", cfg.DojoAPIURL, timeout), "check DOJO_API_URL (normally unset) and that paylink can reach api.dojo.tech over HTTPS")
	case de.StatusCode == 0:
		cl.fail("Dojo", fmt.Sprintf("could not reach %s: %v", cfg.DojoAPIURL, de.Err), "check DOJO_API_URL (normally unset) and that paylink can reach api.dojo.tech over HTTPS")
	case de.StatusCode == http.StatusBadRequest:
		cl.fail("Dojo", de.Error(), "check DOJO_API_VERSION (a date such as "+dojo.DefaultVersion+")")
	default:
		cl.fail("Dojo", de.Error(), dojoSupportFix(de))
	}
}

// dojoSupportFix says what to do about an answer from Dojo that paylink can't fix:
// quote the trace id to Dojo's support when the answer shows one.
func dojoSupportFix(de *dojo.Error) string {
	if de.TraceID != "" {
		return "if Dojo keeps answering this, quote the trace id " + de.TraceID + " to Dojo's support"
	}
	return fmt.Sprintf("if Dojo keeps answering this, tell Dojo's support what it answered (HTTP %d at %s) and when; the answer carried no trace id", de.StatusCode, time.Now().UTC().Format(time.RFC3339))
}

// keyKind says what kind of money a key moves.
func keyKind(key string) string {
	switch {
	case dojo.IsSandboxKey(key):
		return "a sandbox key: links take test cards only, no real money"
	case strings.HasPrefix(key, "sk_prod_"):
		return "a production key: links take real payments"
	}
	return "neither a sandbox (sk_sandbox_) nor a production (sk_prod_) key"
}

func checkWebhooks(cl *checklist, cfg config) {
	n := len(cfg.DojoWebhookSecrets)
	switch {
	case n == 0:
		cl.warn("webhooks", fmt.Sprintf("DOJO_WEBHOOK_SECRET is not set: %s answers 503, and only reconciliation (every %v) reports payments. To hear of payments at once, run: paylink webhook register --url https://<paylink's host>%s",
			bot.PathDojoWebhooks, cfg.Reconcile.Interval, bot.PathDojoWebhooks))
	case n == 1:
		cl.ok("webhooks", "DOJO_WEBHOOK_SECRET is set (1 secret): Dojo's signed events at %s are accepted", bot.PathDojoWebhooks)
	default:
		cl.ok("webhooks", "DOJO_WEBHOOK_SECRET is set (%d secrets, as during a rotation): events signed with any of them at %s are accepted", n, bot.PathDojoWebhooks)
	}
}

func checkRedis(ctx context.Context, cl *checklist, cfg config, timeout time.Duration) {
	if cfg.RedisURL == "" {
		cl.warn("Redis", "REDIS_URL is not set: embedded in-process Redis: fine for trying it, not for production (links and payments are lost when paylink stops, and replicas can't share it)")
		return
	}
	rc, err := store.ParseRedisURL(cfg.RedisURL)
	if err != nil {
		cl.fail("Redis", err.Error(), redisURLFix)
		return
	}
	const reach = "check REDIS_URL's hosts, ports and password, and that Redis is running and reachable from paylink"
	statuses := rc.Probe(ctx, timeout)
	failed := 0
	if rc.Topology == store.Single {
		if st := statuses[0]; st.Err != nil {
			cl.fail("Redis", fmt.Sprintf("PING to %s failed: %v", rc, strings.TrimPrefix(st.Err.Error(), "PING: ")), reach)
			return
		}
	} else {
		for _, st := range statuses {
			item := "Redis " + st.Role + " " + st.Addr
			if st.Err != nil {
				failed++
				cl.fail(item, st.Err.Error(), redisNodeFix(rc, st))
				continue
			}
			cl.ok(item, "%s", st.Detail)
		}
	}
	// Then a write through the client paylink uses, where the notification flow lives.
	rdb := rc.NewClient()
	defer rdb.Close()
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := store.New(rdb, store.Options{Prefix: cfg.RedisPrefix}).Ready(wctx); err != nil {
		cl.fail("Redis", fmt.Sprintf("%s can't be written: %v", rc, strings.TrimPrefix(rc.Redact(err.Error()), "store: ready: ")), reach)
		return
	}
	switch {
	case rc.Topology == store.Single:
		cl.ok("Redis", "%s answers PING", rc)
	case failed > 0:
		cl.ok("Redis", "%s takes writes, with %d of its servers failing (above)", rc, failed)
	default:
		cl.ok("Redis", "%s takes writes", rc)
	}
}

// redisURLFix says how to write REDIS_URL.
const redisURLFix = "write it as redis://[:password@]host:6379/0 (rediss:// for TLS); for Sentinel redis://[:password@]sentinel-a:26379/0?master_name=mymaster&addr=sentinel-b:26379; for Cluster redis://[:password@]node-a:6379?cluster=true&addr=node-b:6379"

// redisNodeFix says what to do about one server of a Sentinel or Cluster deployment.
func redisNodeFix(rc *store.RedisConfig, st store.NodeStatus) string {
	switch st.Role {
	case "sentinel":
		return "check the sentinel's address in REDIS_URL (the host, or an addr=…), that it runs and is reachable, and master_name (sentinel_password=… if the sentinels have a password)"
	case "master":
		return "check that the master the sentinels name runs and is reachable from paylink (its announced address), and REDIS_URL's password"
	}
	return "check the node's address in REDIS_URL (the host, or an addr=…), that it runs and is reachable, and that the cluster is healthy (redis-cli --cluster check)"
}
