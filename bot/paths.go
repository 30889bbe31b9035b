package bot

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
