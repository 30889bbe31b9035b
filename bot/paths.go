package bot

import (
	"time"

	"github.com/paylink/paylink/bot/edge"
	"github.com/paylink/paylink/bot/payments"
	"github.com/paylink/paylink/bot/slackin"
)

// The HTTP paths the server answers. Slack's app manifest, the Kubernetes probes and
// Dojo's webhook subscription point at these; they are fixed contracts.
const (
	PathCommands     = "/slack/commands"
	PathInteractions = "/slack/interactions"
	PathEvents       = "/slack/events"
	PathDojoWebhooks = "/dojo/webhooks"
	PathHealthz      = "/healthz"
	PathReadyz       = "/readyz"
	PathMetrics      = "/metrics"
)

// RequestIDHeader carries each request's id back to the caller.
const RequestIDHeader = edge.RequestIDHeader

// The metadata keys on every payment intent paylink creates (see payments.MetaTeam).
const (
	MetaTeam    = payments.MetaTeam
	MetaChannel = payments.MetaChannel
	MetaUser    = payments.MetaUser
	MetaNonce   = payments.MetaNonce
)

// SignSlackRequest signs body as Slack does at time ts; it returns the values of the
// X-Slack-Request-Timestamp and X-Slack-Signature headers (see slackin.Sign).
func SignSlackRequest(secret string, ts time.Time, body []byte) (timestamp, signature string) {
	return slackin.Sign(secret, ts, body)
}
