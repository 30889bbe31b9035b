// Package bot is paylink in Slack: it takes the commands and interactions slackin
// decodes (create, cancel, status, list, refresh, the form and the card's buttons) to
// the link flow (flow), answers within Slack's 3 seconds, and posts the results
// through slackout. NewServer wires it with payments' webhook handler into every
// route paylink serves.
package bot

import (
	"context"
	"net/http"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"github.com/paylink/paylink/bot/edge"
	"github.com/paylink/paylink/bot/flow"
	"github.com/paylink/paylink/bot/home"
	"github.com/paylink/paylink/bot/metrics"
	"github.com/paylink/paylink/bot/payments"
	"github.com/paylink/paylink/bot/policy"
	"github.com/paylink/paylink/bot/slackin"
	"github.com/paylink/paylink/bot/slackout"
	"github.com/paylink/paylink/store"
)

// Config is the bot's behaviour, read from the environment by cmd/paylink.
type Config struct {
	CheckoutURL   string            // the link is CheckoutURL + intent id
	PaymentSource string            // sent as paymentSource; empty sends none
	TestMode      bool              // a sandbox Dojo key: every message says TEST MODE
	MaxAmounts    policy.MaxAmounts // largest amount per link, per currency
	AckBudget     time.Duration     // how long a command waits for its outcome before acknowledging
	SlowNotice    time.Duration     // a command still not done after this gets a "Dojo is taking a moment" note
	MaxInFlight   int               // commands whose work may be under way at once; more wait, then are refused
	WorkTimeout   time.Duration     // how long the work a command starts may take in all
	RetypeWindow  time.Duration     // the same command again within this returns the same link
	// WebhookSecrets verify Dojo's webhooks; several may be active while one is rotated.
	// None: /dojo/webhooks answers 503 and reconciliation alone reports payments.
	WebhookSecrets []string
	// Policy says who may create links where, and who may cancel any link.
	Policy policy.Policy
}

// Defaults for the timing settings.
const (
	DefaultAckBudget    = 25 * time.Millisecond
	DefaultSlowNotice   = 1500 * time.Millisecond
	DefaultMaxInFlight  = 2000
	DefaultWorkTimeout  = 45 * time.Second
	DefaultRetypeWindow = 10 * time.Minute
)

// Deps are the parts the server is built from.
type Deps struct {
	Log      zerolog.Logger
	Config   Config
	Verifier *slackin.Verifier
	Links    PaymentLinks
	Store    *store.Store
	Slack    *slack.Client
	// Chat posts messages (the card, notices, refunds, reminders) with Slack's Web API
	// as JSON; Slack serves the rest (forms, Home views, updates, user groups).
	Chat       *slackout.Chat
	HTTPClient *http.Client // for response_url posts
	Tasks      *Tasks
	// Clock is the time every part follows; nil: the real clock.
	Clock   clockwork.Clock
	Metrics *metrics.Metrics // nil: none
}

// PaymentLinks is every Dojo call paylink makes. *dojo.Client satisfies it.
type PaymentLinks = flow.Dojo

// payments is what the webhook handler is built from.
func (d Deps) payments() payments.Deps {
	return payments.Deps{Log: d.Log, Store: d.Store, Dojo: d.Links, Chat: d.Chat, CheckoutURL: d.Config.CheckoutURL,
		TestMode: d.Config.TestMode, Clock: d.Clock, Metrics: d.Metrics, WebhookSecrets: d.Config.WebhookSecrets}
}

// Server serves paylink's HTTP routes, and takes Slack requests that arrive over Socket
// Mode to the same handler.
type Server struct {
	http.Handler
	log   zerolog.Logger
	clock clockwork.Clock
	slack slackin.Handler
	home  *home.Publisher
}

// NewServer returns the server for every route paylink serves.
func NewServer(d Deps) *Server {
	if d.Clock == nil {
		d.Clock = clockwork.NewRealClock()
	}
	if d.Config.SlowNotice == 0 {
		d.Config.SlowNotice = DefaultSlowNotice
	}
	if d.Config.MaxInFlight <= 0 {
		d.Config.MaxInFlight = DefaultMaxInFlight
	}
	c := d.Config
	l := &linker{
		cfg: c,
		flow: flow.New(flow.Deps{
			Config: flow.Config{PaymentSource: c.PaymentSource, TestMode: c.TestMode, MaxAmounts: c.MaxAmounts,
				Policy: c.Policy, WorkTimeout: c.WorkTimeout, RetypeWindow: c.RetypeWindow, Zone: dojoDays()},
			Dojo:   d.Links,
			Store:  d.Store,
			Groups: policy.NewGroups(d.Slack, d.Clock),
			Clock:  d.Clock,
			NewID:  func() string { return edge.NewRequestID() + edge.NewRequestID() },
		}),
		slack: d.Slack,
		chat:  d.Chat,
		hc:    d.HTTPClient,
		tasks: d.Tasks,
		clock: d.Clock,
		admit: newAdmission(c.MaxInFlight, d.Clock),
		m:     d.Metrics,
	}
	d.Metrics.WatchAdmission(l.admit.state)
	pub := &home.Publisher{Log: d.Log, Store: d.Store, Slack: d.Slack, Policy: c.Policy, CheckoutURL: c.CheckoutURL, Clock: d.Clock}
	sh := slackHandler{linker: l, events: &eventsHandler{home: pub, revoked: d.Store, tasks: d.Tasks}}
	mux := http.NewServeMux()
	addRoutes(mux, d, sh)
	return &Server{
		Handler: edge.WithRequestLog(d.Log, d.Clock, d.Metrics.Instrument(mux)),
		log:     d.Log,
		clock:   d.Clock,
		slack:   sh,
		home:    pub,
	}
}

// Home is the publisher of Home tabs: a link that changes has its agent's Home tab
// published again (see home.Publisher.Changed).
func (s *Server) Home() *home.Publisher { return s.home }

// RunSocketMode receives slash commands, interactions and events over Slack's Socket Mode
// (api carries the app-level token) until ctx ends; see slackin.RunSocketMode.
func (s *Server) RunSocketMode(ctx context.Context, api *slack.Client) error {
	return slackin.RunSocketMode(ctx, s.log, s.clock, api, s.slack)
}
