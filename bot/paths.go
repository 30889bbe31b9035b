package bot

import "github.com/paylink/paylink/bot/edge"

// The HTTP paths the server answers. Slack's app manifest, the Kubernetes probes and
// Dojo's webhook subscription point at these; they are fixed contracts.
const (
	PathCommands     = "/slack/commands"
	PathInteractions = "/slack/interactions"
	PathDojoWebhooks = "/dojo/webhooks"
	PathHealthz      = "/healthz"
	PathReadyz       = "/readyz"
	PathMetrics      = "/metrics"
)

// RequestIDHeader carries each request's id back to the caller.
const RequestIDHeader = edge.RequestIDHeader
