package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/paylink/paylink/bot"
	"github.com/paylink/paylink/bot/payments"
	"github.com/paylink/paylink/bot/policy"
	"github.com/paylink/paylink/store"
)

// config is everything read from the environment. Its String method is safe to log:
// secrets are redacted.
type config struct {
	Port   string
	Listen string // PAYLINK_LISTEN, with PORT when it names no port: the address to listen on

	SlackSigningSecret string
	SlackBotToken      string
	SlackAppToken      string
	SlackAPIURL        string

	DojoAPIKey         string
	DojoWebhookSecrets []string
	DojoAPIURL         string
	DojoAPIVersion     string
	DojoCheckoutURL    string
	DojoPaymentSource  string
	DojoTimeout        time.Duration

	RedisURL    string // empty: embedded in-process Redis
	RedisPrefix string
	// RedisMinReplicas, above 0, holds back a webhook's 2xx and a link until WAIT
	// confirms that many replicas have the write, waiting up to RedisWaitTimeout.
	RedisMinReplicas int
	RedisWaitTimeout time.Duration

	LogLevel zerolog.Level

	MaxAmounts   policy.MaxAmounts
	AckBudget    time.Duration
	SlowNotice   time.Duration
	MaxInFlight  int
	RetypeWindow time.Duration

	Notify    payments.NotifyConfig
	Reconcile payments.ReconcileConfig
	Due       payments.DueConfig

	Policy policy.Policy

	DebugAddr string // PAYLINK_DEBUG_ADDR: Go's profiler, off when empty

	Days dayConfig // PAYLINK_TIMEZONE and the daily digest
}

// embeddedMaxInFlight is PAYLINK_MAX_IN_FLIGHT's default with the embedded Redis.
const embeddedMaxInFlight = 64

// loadConfig reads the configuration through lookup (os.LookupEnv in production). It
// reports every missing required variable and every bad value at once.
func loadConfig(lookup func(string) (string, bool)) (config, []string, error) {
	get := func(name, def string) string {
		if v, ok := lookup(name); ok {
			return strings.TrimSpace(v)
		}
		return def
	}
	var missing, problems, warnings []string
	required := func(name string) string {
		v := get(name, "")
		if v == "" {
			missing = append(missing, name)
		}
		return v
	}
	duration := func(name string, def time.Duration) time.Duration {
		v := get(name, "")
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			problems = append(problems, fmt.Sprintf("%s=%q is not a positive duration like 1.5s", name, v))
			return def
		}
		return d
	}
	baseURL := func(name, def string) string {
		v := get(name, def)
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			problems = append(problems, fmt.Sprintf("%s=%q is not an http(s) URL", name, v))
		}
		return v
	}

	c := config{
		Port:               get("PORT", "8080"),
		SlackSigningSecret: required("SLACK_SIGNING_SECRET"),
		SlackBotToken:      required("SLACK_BOT_TOKEN"),
		SlackAppToken:      get("SLACK_APP_TOKEN", ""),
		SlackAPIURL:        baseURL("SLACK_API_URL", "https://slack.com/api/"),
		DojoAPIKey:         required("DOJO_API_KEY"),
		DojoAPIURL:         baseURL("DOJO_API_URL", "https://api.dojo.tech"),
		DojoAPIVersion:     get("DOJO_API_VERSION", "2026-02-27"),
		DojoCheckoutURL:    baseURL("DOJO_CHECKOUT_URL", "https://pay.dojo.tech/checkout/"),
		DojoPaymentSource:  get("DOJO_PAYMENT_SOURCE", "payment-links"),
		DojoTimeout:        duration("DOJO_TIMEOUT", 15*time.Second),
		RedisURL:           get("REDIS_URL", ""),
		RedisPrefix:        get("PAYLINK_REDIS_PREFIX", "paylink:"),
		AckBudget:          duration("PAYLINK_ACK_BUDGET", bot.DefaultAckBudget),
		SlowNotice:         duration("PAYLINK_SLOW_NOTICE", bot.DefaultSlowNotice),
		RetypeWindow:       duration("PAYLINK_RETYPE_WINDOW", bot.DefaultRetypeWindow),
	}
	positive := func(name string, def int) int {
		v := get(name, "")
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			problems = append(problems, fmt.Sprintf("%s=%q is not a positive whole number", name, v))
			return def
		}
		return n
	}
	maxInFlight := bot.DefaultMaxInFlight
	if c.RedisURL == "" {
		// The embedded Redis serves one command at a time: work past a few dozen links
		// under way only queues, each waiting longer (BENCHMARKS.md, "CPU per link, memory
		// and the embedded Redis").
		maxInFlight = embeddedMaxInFlight
	}
	c.MaxInFlight = positive("PAYLINK_MAX_IN_FLIGHT", maxInFlight)
	if v := get("PAYLINK_REDIS_MIN_REPLICAS", "0"); v != "0" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			problems = append(problems, fmt.Sprintf("PAYLINK_REDIS_MIN_REPLICAS=%q is not a whole number (0 turns it off)", v))
		}
		c.RedisMinReplicas = max(n, 0)
	}
	c.RedisWaitTimeout = duration("PAYLINK_REDIS_WAIT_TIMEOUT", store.DefaultWaitTimeout)
	if c.RedisMinReplicas > 0 && c.RedisURL == "" {
		problems = append(problems, "PAYLINK_REDIS_MIN_REPLICAS needs REDIS_URL: the embedded Redis has no replicas")
	}
	if c.RedisWaitTimeout > 2*time.Second {
		problems = append(problems, "PAYLINK_REDIS_WAIT_TIMEOUT must be at most 2s: a webhook or a command waits for it")
	}
	d := payments.DefaultNotifyConfig()
	c.Notify = payments.NotifyConfig{
		Workers:     positive("PAYLINK_NOTIFY_WORKERS", d.Workers),
		ClaimIdle:   duration("PAYLINK_NOTIFY_CLAIM_IDLE", d.ClaimIdle),
		RetryBase:   duration("PAYLINK_NOTIFY_RETRY_BASE", d.RetryBase),
		RetryMax:    duration("PAYLINK_NOTIFY_RETRY_MAX", d.RetryMax),
		MaxAttempts: positive("PAYLINK_NOTIFY_MAX_ATTEMPTS", d.MaxAttempts),
		MaxWait:     d.MaxWait,
		// Its card is posted, or never will be, by the time a command's work must end.
		CardWait: c.workTimeout(),
	}
	c.Reconcile = payments.ReconcileConfig{
		Interval: duration("PAYLINK_RECONCILE_INTERVAL", 5*time.Minute),
		Rate:     float64(positive("PAYLINK_RECONCILE_RATE", 5)),
	}
	switch v := strings.TrimSpace(get("PAYLINK_REMIND_AFTER", "")); strings.ToLower(v) {
	case "off":
	case "":
		c.Due.RemindAfter = 24 * time.Hour
	default:
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			problems = append(problems, fmt.Sprintf("PAYLINK_REMIND_AFTER=%q is not off or a duration of at least 1s, like 24h", v))
		}
		c.Due.RemindAfter = d
	}
	if c.Due.RemindAfter > 0 {
		// Looked for at least twice per reminder period, so a short one (in tests)
		// is kept close to.
		c.Due.Interval = min(30*time.Second, c.Due.RemindAfter/2)
	}
	c.DebugAddr = get("PAYLINK_DEBUG_ADDR", "")
	var dayProblems []string
	c.Days, dayProblems = loadDayConfig(get)
	problems = append(problems, dayProblems...)
	c.Policy = policy.Policy{
		Channels:   idSet(get("PAYLINK_ALLOWED_CHANNELS", "")),
		Users:      idSet(get("PAYLINK_ALLOWED_USERS", "")),
		Usergroups: sortedIDs(idSet(get("PAYLINK_ALLOWED_USERGROUPS", ""))),
		Admins:     idSet(get("PAYLINK_ADMINS", "")),
		Refunders:  idSet(get("PAYLINK_REFUNDERS", "")),
	}
	var rerr error
	c.Policy.RateLimit, c.Policy.RateWindow, rerr = policy.ParseRateLimit(get("PAYLINK_RATE_LIMIT", ""))
	if rerr != nil {
		problems = append(problems, rerr.Error())
	}
	for _, s := range strings.Split(get("DOJO_WEBHOOK_SECRET", ""), ",") {
		if s = strings.TrimSpace(s); s != "" {
			c.DojoWebhookSecrets = append(c.DojoWebhookSecrets, s)
		}
	}
	if !strings.HasSuffix(c.SlackAPIURL, "/") {
		c.SlackAPIURL += "/"
	}
	if p, err := strconv.Atoi(c.Port); err != nil || p < 0 || p > 65535 {
		problems = append(problems, fmt.Sprintf("PORT=%q is not a port number", c.Port))
	}
	var lerr error
	if c.Listen, lerr = listenAddr(get("PAYLINK_LISTEN", ""), c.Port); lerr != nil {
		problems = append(problems, lerr.Error())
	}
	if _, err := time.Parse("2006-01-02", c.DojoAPIVersion); err != nil {
		problems = append(problems, fmt.Sprintf("DOJO_API_VERSION=%q is not a date like 2026-02-27", c.DojoAPIVersion))
	}
	level, err := zerolog.ParseLevel(strings.ToLower(get("LOG_LEVEL", "info")))
	if err != nil || level == zerolog.NoLevel {
		problems = append(problems, fmt.Sprintf("LOG_LEVEL=%q is not one of trace, debug, info, warn, error", get("LOG_LEVEL", "")))
		level = zerolog.InfoLevel
	}
	c.LogLevel = level
	c.MaxAmounts, err = policy.ParseMaxAmounts(get("PAYLINK_MAX_AMOUNT", ""))
	if err != nil {
		problems = append(problems, err.Error())
	}
	if c.AckBudget > 2500*time.Millisecond {
		problems = append(problems, "PAYLINK_ACK_BUDGET must be at most 2.5s: Slack wants an answer within 3s")
	}

	if c.SlackBotToken != "" && !strings.HasPrefix(c.SlackBotToken, "xoxb-") {
		warnings = append(warnings, "SLACK_BOT_TOKEN does not start with xoxb-: is it a bot token?")
	}
	if c.DojoAPIKey != "" && !strings.HasPrefix(c.DojoAPIKey, "sk_") {
		warnings = append(warnings, "DOJO_API_KEY does not start with sk_: is it a Dojo secret key?")
	}
	if !strings.HasSuffix(c.DojoCheckoutURL, "/") {
		warnings = append(warnings, "DOJO_CHECKOUT_URL does not end with /: links are this URL followed directly by the intent id")
	}

	var errs []string
	if len(missing) > 0 {
		errs = append(errs, "missing required environment variables: "+strings.Join(missing, ", "))
	}
	errs = append(errs, problems...)
	if len(errs) > 0 {
		return c, warnings, errors.New(strings.Join(errs, "\n"))
	}
	return c, warnings, nil
}

// listenAddr is the address to listen on: PAYLINK_LISTEN (host:port, or a host alone
// that takes PORT), else every interface on PORT.
func listenAddr(listen, port string) (string, error) {
	if listen == "" {
		return ":" + port, nil
	}
	host, p, err := net.SplitHostPort(listen)
	if err != nil {
		// A host alone: an IPv4 address or name, or an IPv6 address, bracketed or not.
		host = strings.TrimSuffix(strings.TrimPrefix(listen, "["), "]")
		if strings.ContainsAny(host, "[]/ ") || (strings.Contains(host, ":") && net.ParseIP(host) == nil) {
			return "", fmt.Errorf("PAYLINK_LISTEN=%q is not an address like 127.0.0.1:8080, [::1]:8080 or 127.0.0.1", listen)
		}
		return net.JoinHostPort(host, port), nil
	}
	if n, err := strconv.Atoi(p); err != nil || n < 0 || n > 65535 {
		return "", fmt.Errorf("PAYLINK_LISTEN=%q: %q is not a port number", listen, p)
	}
	if strings.ContainsAny(host, "[]/ ") {
		return "", fmt.Errorf("PAYLINK_LISTEN=%q is not an address like 127.0.0.1:8080, [::1]:8080 or 127.0.0.1", listen)
	}
	return net.JoinHostPort(host, p), nil
}

// idSet reads a comma-separated list of Slack ids.
func idSet(s string) map[string]bool {
	out := map[string]bool{}
	for _, id := range strings.Split(s, ",") {
		if id = strings.TrimSpace(id); id != "" {
			out[id] = true
		}
	}
	return out
}

func sortedIDs(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// redacted shows whether a secret is set, never its value.
func redacted(s string) string {
	if s == "" {
		return "unset"
	}
	return "set"
}

// redisLocation describes where Redis is without its credentials.
func redisLocation(raw string) string {
	if raw == "" {
		return "embedded"
	}
	rc, err := store.ParseRedisURL(raw)
	if err != nil {
		return "invalid"
	}
	return rc.String()
}

// logFields adds the configuration to a log event, with secrets redacted.
func (c config) logFields(e *zerolog.Event) *zerolog.Event {
	return e.Str("port", c.Port).
		Str("listen", c.Listen).
		Str("slack_signing_secret", redacted(c.SlackSigningSecret)).
		Str("slack_bot_token", redacted(c.SlackBotToken)).
		Str("slack_app_token", redacted(c.SlackAppToken)).
		Str("slack_api_url", c.SlackAPIURL).
		Str("dojo_api_key", redacted(c.DojoAPIKey)).
		Int("dojo_webhook_secrets", len(c.DojoWebhookSecrets)).
		Str("dojo_api_url", c.DojoAPIURL).
		Str("dojo_api_version", c.DojoAPIVersion).
		Str("dojo_checkout_url", c.DojoCheckoutURL).
		Str("dojo_payment_source", c.DojoPaymentSource).
		Stringer("dojo_timeout", c.DojoTimeout).
		Str("redis", redisLocation(c.RedisURL)).
		Str("redis_prefix", c.RedisPrefix).
		Int("redis_min_replicas", c.RedisMinReplicas).
		Stringer("redis_wait_timeout", c.RedisWaitTimeout).
		Str("log_level", c.LogLevel.String()).
		Stringer("ack_budget", c.AckBudget).
		Stringer("slow_notice", c.SlowNotice).
		Stringer("retype_window", c.RetypeWindow).
		Int("notify_workers", c.Notify.Workers).
		Stringer("notify_claim_idle", c.Notify.ClaimIdle).
		Stringer("notify_retry_base", c.Notify.RetryBase).
		Int("notify_max_attempts", c.Notify.MaxAttempts).
		Stringer("reconcile_interval", c.Reconcile.Interval).
		Int("allowed_channels", len(c.Policy.Channels)).
		Int("allowed_users", len(c.Policy.Users)).
		Int("allowed_usergroups", len(c.Policy.Usergroups)).
		Int("admins", len(c.Policy.Admins)).
		Int("refunders", len(c.Policy.Refunders)).
		Int("rate_limit", c.Policy.RateLimit).
		Stringer("rate_window", c.Policy.RateWindow).
		Str("timezone", c.Days.Location.String()).
		Str("digest_channel", c.Days.DigestChannel).
		Stringer("digest_at", c.Days.DigestAt)
}

// workTimeout is how long the work a command starts may take in all: Dojo's create
// (with its timeout), then posting the card.
func (c config) workTimeout() time.Duration { return c.DojoTimeout + 30*time.Second }
