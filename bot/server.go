// Package bot is paylink's Slack side and its flow: the HTTP handlers Slack and Dojo
// call, command parsing and policy, the Block Kit messages, and the work that turns a
// slash command into a posted payment link.
package bot

import (
	"net/http"
	"time"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"
)

// Config is the bot's behaviour, read from the environment by cmd/paylink.
type Config struct {
	CheckoutURL   string        // the link is CheckoutURL + intent id
	PaymentSource string        // sent as paymentSource; empty sends none
	TestMode      bool          // a sandbox Dojo key: every message says TEST MODE
	MaxAmounts    MaxAmounts    // largest amount per link, per currency
	AckBudget     time.Duration // how long a command waits for Dojo before acknowledging
	WorkTimeout   time.Duration // how long the work a command starts may take in all
	RetypeWindow  time.Duration // the same command again within this returns the same link
	// WebhookSecrets verify Dojo's webhooks; several may be active while one is rotated.
	// None: /dojo/webhooks answers 503 and reconciliation alone reports payments.
	WebhookSecrets []string
	// Policy says who may create links where, and who may cancel any link.
	Policy Policy
}

// Defaults for the timing settings.
const (
	DefaultAckBudget    = 1500 * time.Millisecond
	DefaultWorkTimeout  = 45 * time.Second
	DefaultRetypeWindow = 10 * time.Minute
)

// Deps are the parts the server is built from.
type Deps struct {
	Log        zerolog.Logger
	Config     Config
	Verifier   *SlackVerifier
	Links      PaymentLinks
	Store      Store
	Slack      *slack.Client
	HTTPClient *http.Client // for response_url posts
	Tasks      *Tasks
	Now        func() time.Time
	Notify     NotifyConfig
	Reconcile  ReconcileConfig
}

// NewServer returns the HTTP handler for every route paylink serves.
func NewServer(d Deps) http.Handler {
	if d.Now == nil {
		d.Now = time.Now
	}
	l := &linker{
		cfg:    d.Config,
		links:  d.Links,
		store:  d.Store,
		slack:  d.Slack,
		hc:     d.HTTPClient,
		tasks:  d.Tasks,
		now:    d.Now,
		groups: &groupCache{now: d.Now},
	}
	mux := http.NewServeMux()
	addRoutes(mux, d, l)
	return withRequestLog(d.Log, mux)
}
