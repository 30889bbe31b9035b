package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/paylink/paylink/bot"
	"github.com/paylink/paylink/bot/payments"
	"github.com/paylink/paylink/dojo"
)

const webhookUsage = `usage:
  paylink webhook register --url https://HOST/dojo/webhooks [--description TEXT]
        Subscribe the URL to Dojo's payment_intent.status_updated events and print
        the DOJO_WEBHOOK_SECRET to set. Needs DOJO_API_KEY (and DOJO_API_URL,
        DOJO_API_VERSION when they are not the defaults); not the Slack settings.

  paylink webhook send --url http://localhost:8080/dojo/webhooks --intent pi_… [--status Captured] [--secret S]
        Send a signed payment_intent.status_updated event, as Dojo would, to a
        running paylink. The secret defaults to the first of DOJO_WEBHOOK_SECRET.
        paylink confirms every status with Dojo before it posts a notice, so "Paid"
        appears only if Dojo itself reports the intent Captured (in Dojo's sandbox:
        pay the link with a test card). Exits 1 when paylink refused or ignored the
        event (an intent it did not create, an unusable status).
`

// runWebhook registers Dojo webhooks or sends a test event.
func runWebhook(ctx context.Context, args []string, lookup func(string) (string, bool), stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, webhookUsage)
		return errors.New("webhook: say register or send")
	}
	switch args[0] {
	case "register":
		return webhookRegister(ctx, args[1:], lookup, stdout)
	case "send":
		return webhookSend(ctx, args[1:], lookup, stdout)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, webhookUsage)
		return nil
	}
	fmt.Fprint(stdout, webhookUsage)
	return fmt.Errorf("webhook: unknown command %q: say register or send", args[0])
}

// parseFlags parses args into fs and reports a help request as done. It refuses
// arguments that are not flags.
func parseFlags(fs *flag.FlagSet, args []string) (help bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return false, err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return false, fmt.Errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return false, nil
}

// usageError prints what is wrong and the usage, and returns it as an error.
func usageError(fs *flag.FlagSet, format string, a ...any) error {
	msg := fs.Name() + ": " + fmt.Sprintf(format, a...)
	fmt.Fprintln(fs.Output(), msg)
	fs.Usage()
	return errors.New(msg)
}

func newWebhookFlags(name, synopsis string, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: paylink %s\n\nflags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// webhookRegister subscribes a URL to payment_intent.status_updated and prints the
// signing secret to configure.
func webhookRegister(ctx context.Context, args []string, lookup func(string) (string, bool), stdout io.Writer) error {
	fs := newWebhookFlags("webhook register", "webhook register --url https://HOST/dojo/webhooks [--description TEXT]", stdout)
	rawURL := fs.String("url", "", "paylink's public https URL for Dojo's events, ending in "+bot.PathDojoWebhooks+" (required)")
	description := fs.String("description", "paylink", "the subscription's description, shown in Dojo's Developer Portal")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if *rawURL == "" {
		return usageError(fs, "--url is required")
	}
	u, err := url.Parse(*rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return usageError(fs, "--url %q is not an absolute https:// URL", *rawURL)
	}
	if u.Scheme != "https" {
		return usageError(fs, "--url must be https: Dojo delivers webhooks only to https:// URLs; put paylink behind TLS (a reverse proxy, load balancer or tunnel) and give its public https URL")
	}
	key := lookupTrim(lookup, "DOJO_API_KEY")
	if key == "" {
		return errors.New("webhook register: DOJO_API_KEY is not set: it must be the secret key of the Dojo account whose payments paylink reports")
	}
	base := lookupTrim(lookup, "DOJO_API_URL")
	if base == "" {
		base = dojo.DefaultBaseURL
	}
	version := lookupTrim(lookup, "DOJO_API_VERSION")
	if version == "" {
		version = dojo.DefaultVersion
	}

	if u.Path != bot.PathDojoWebhooks {
		fmt.Fprintf(stdout, "Note: paylink receives Dojo's events at %s; this URL's path is %q.\n", bot.PathDojoWebhooks, u.Path)
	}
	if isLocalHost(u.Hostname()) {
		fmt.Fprintf(stdout, "Note: %s is not reachable from the internet; Dojo must be able to reach the URL.\n", u.Hostname())
	}

	c := dojo.NewClient(dojo.Config{BaseURL: base, APIKey: key, Version: version, HTTPClient: newHTTPClient(dojo.DefaultTimeout)})
	sub, err := c.Subscribe(ctx, dojo.SubscribeRequest{
		Events:      []string{dojo.EventStatusUpdated},
		URL:         u.String(),
		Description: *description,
	})
	if err != nil {
		return fmt.Errorf("webhook register: %s", explainDojoError(err))
	}
	if sub.ID == "" {
		return errors.New("webhook register: Dojo answered without a subscription id: look for the subscription in Dojo's Developer Portal, developer.dojo.tech")
	}
	secrets, err := c.SigningSecrets(ctx, sub)
	if err != nil {
		return fmt.Errorf("webhook register: subscription %s was created, but %s. Don't register again (Dojo allows one subscription per event): get the subscription's secret from Dojo's Developer Portal, developer.dojo.tech", sub.ID, explainSecretsError(err))
	}

	account := ""
	if dojo.IsSandboxKey(key) {
		account = ", sandbox account"
	}
	fmt.Fprintf(stdout, "Subscribed %s to %s.\n", u.String(), dojo.EventStatusUpdated)
	fmt.Fprintf(stdout, "Subscription: %s%s\n\n", sub.ID, account)
	fmt.Fprint(stdout, "Set this in paylink's environment and restart it:\n\n")
	fmt.Fprintf(stdout, "DOJO_WEBHOOK_SECRET=%s\n\n", strings.Join(secrets, ","))
	fmt.Fprintf(stdout, "To rotate the secret later, generate a new one for %s in Dojo, then set the old and new secrets together, comma-separated (DOJO_WEBHOOK_SECRET=old,new), until Dojo signs with the new one only; then remove the old one.\n", sub.ID)
	return nil
}

// explainSecretsError says which step of finding the signing secrets failed, and why.
func explainSecretsError(err error) string {
	var step *dojo.SecretStepError
	if errors.As(err, &step) {
		return step.Step + " failed: " + explainDojoError(step.Err)
	}
	return err.Error()
}

// explainDojoError says what went wrong with a webhook API call and what to do.
func explainDojoError(err error) string {
	var de *dojo.Error
	if !errors.As(err, &de) {
		return err.Error()
	}
	switch {
	case de.StatusCode == http.StatusUnauthorized || de.StatusCode == http.StatusForbidden:
		return fmt.Sprintf("Dojo refused DOJO_API_KEY (HTTP %d): check it is the account's secret key, from Dojo's Developer Portal, developer.dojo.tech", de.StatusCode)
	case de.StatusCode == http.StatusConflict:
		return "Dojo already has a webhook subscription for " + dojo.EventStatusUpdated + " (it allows one per event): find it and its secret in Dojo's Developer Portal, developer.dojo.tech, or delete it there and register again (" + de.Error() + ")"
	}
	return strings.ReplaceAll(de.Message(), "\n", "; ")
}

// webhookSend sends a signed test event to a running paylink.
func webhookSend(ctx context.Context, args []string, lookup func(string) (string, bool), stdout io.Writer) error {
	fs := newWebhookFlags("webhook send", "webhook send --url http://localhost:8080/dojo/webhooks --intent pi_… [--status Captured] [--secret S]\n\n"+
		"Sends a signed payment_intent.status_updated event, as Dojo would, to a running paylink.\n"+
		"paylink confirms every status with Dojo before it posts a notice, so \"Paid\" appears only\n"+
		"if Dojo itself reports the intent Captured. Exits 1 when paylink refused or ignored the event.", stdout)
	rawURL := fs.String("url", "", "paylink's webhook URL, e.g. http://localhost:8080"+bot.PathDojoWebhooks+" (required)")
	intent := fs.String("intent", "", "the payment intent id the event is about (required)")
	statusFlag := fs.String("status", string(dojo.StatusCaptured), "the new status: one of "+statusList())
	secretFlag := fs.String("secret", "", "the signing secret (default: the first of DOJO_WEBHOOK_SECRET)")
	timeout := fs.Duration("timeout", 10*time.Second, "how long to wait for paylink's answer")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if *rawURL == "" {
		return usageError(fs, "--url is required")
	}
	u, err := url.Parse(*rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return usageError(fs, "--url %q is not an absolute http:// or https:// URL", *rawURL)
	}
	id := strings.TrimSpace(*intent)
	if id == "" {
		return usageError(fs, "--intent is required")
	}
	status, ok := parseStatus(*statusFlag)
	if !ok {
		return usageError(fs, "--status %q is not one of %s", *statusFlag, statusList())
	}
	secret := strings.TrimSpace(*secretFlag)
	if secret == "" {
		for _, s := range strings.Split(lookupTrim(lookup, "DOJO_WEBHOOK_SECRET"), ",") {
			if s = strings.TrimSpace(s); s != "" {
				secret = s
				break
			}
		}
	}
	if secret == "" {
		return usageError(fs, "no signing secret: pass --secret or set DOJO_WEBHOOK_SECRET")
	}

	ev := dojo.NewStatusEvent(id, status, time.Now())
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("webhook send: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook send: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(dojo.SignatureHeader, dojo.SignWebhook(secret, body))
	resp, err := (&http.Client{Timeout: *timeout}).Do(req)
	if err != nil {
		return fmt.Errorf("webhook send: is paylink running at %s? %w", u.Redacted(), err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	fmt.Fprintf(stdout, "Sent %s (%s: %s is %s) to %s: HTTP %s\n", ev.ID, ev.Event, id, status, u.Redacted(), resp.Status)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := fmt.Sprintf("webhook send: paylink answered HTTP %s", resp.Status)
		if text := strings.Join(strings.Fields(string(answer)), " "); text != "" {
			msg += ": " + text
		}
		switch resp.StatusCode {
		case http.StatusUnauthorized:
			msg += " (the secret does not match any of paylink's DOJO_WEBHOOK_SECRET)"
		case http.StatusServiceUnavailable:
			msg += " (is DOJO_WEBHOOK_SECRET set where paylink runs?)"
		}
		return errors.New(msg)
	}
	text, err := sendOutcome(resp.Header.Get(payments.WebhookOutcomeHeader), id, status)
	fmt.Fprintln(stdout, text)
	return err
}

// sendOutcome explains what paylink did with the event, from its answer's
// Paylink-Webhook-Outcome header, and is an error when paylink ignored it.
func sendOutcome(outcome, intent string, status dojo.Status) (string, error) {
	notice := "paylink posts a notice only once Dojo confirms the status"
	if status == dojo.StatusCaptured {
		notice = `"Paid" appears only if Dojo itself reports ` + intent + ` Captured: paylink confirms with Dojo before it posts`
	}
	switch outcome {
	case "queued":
		return "paylink recorded the status and queued its notice; " + notice + ".", nil
	case "recorded":
		return "paylink recorded the status; it posts no notice for " + string(status) + ".", nil
	case "duplicate":
		return "paylink had already recorded " + string(status) + " for " + intent + ": no second notice (Dojo delivers events more than once; paylink acts on each status once).", nil
	case "not_ours":
		msg := "paylink ignored the event: " + intent + " is not a link paylink created (no record of it, and Dojo does not know it as one of paylink's)"
		return msg + ".", errors.New("webhook send: " + msg)
	case "ignored":
		msg := "paylink ignored the event: it is not a status update paylink can use"
		return msg + ".", errors.New("webhook send: " + msg)
	case "":
		return "paylink accepted the event but did not say what it did with it (a paylink from before the " + payments.WebhookOutcomeHeader + " header); " + notice + ".", nil
	}
	return "paylink accepted the event (" + outcome + "); " + notice + ".", nil
}

// parseStatus reads a status in any letter case.
func parseStatus(s string) (dojo.Status, bool) {
	s = strings.TrimSpace(s)
	for _, st := range dojo.Statuses() {
		if strings.EqualFold(s, string(st)) {
			return st, st.Valid()
		}
	}
	return dojo.Status(s), dojo.Status(s).Valid()
}

func statusList() string {
	names := make([]string, len(dojo.Statuses()))
	for i, st := range dojo.Statuses() {
		names[i] = string(st)
	}
	return strings.Join(names, ", ")
}

func lookupTrim(lookup func(string) (string, bool), name string) string {
	v, _ := lookup(name)
	return strings.TrimSpace(v)
}

// isLocalHost reports whether host is plainly not on the internet.
func isLocalHost(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.IsLoopback() || ip.IsPrivate() || ip.IsUnspecified() || ip.IsLinkLocalUnicast())
}
