package bot

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"github.com/paylink/paylink/bot/metrics"
	"github.com/paylink/paylink/bot/policy"
	"github.com/paylink/paylink/bot/slackin"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/store"
)

// PaymentLinks creates and inspects Dojo payment intents. *dojo.Client satisfies it.
type PaymentLinks interface {
	CreatePaymentIntent(ctx context.Context, req dojo.CreateRequest) (*dojo.PaymentIntent, error)
	PaymentIntent(ctx context.Context, id string) (*dojo.PaymentIntent, error)
	CancelPaymentIntent(ctx context.Context, id string) (*dojo.PaymentIntent, error)
	SearchPaymentIntents(ctx context.Context, req dojo.SearchRequest) (*dojo.SearchResult, error)
}

// CommandStore is what the command flow keeps in Redis: claims, link records, look-ups,
// rate limits and the audit trail. *store.Store satisfies it.
type CommandStore interface {
	ClaimCommand(ctx context.Context, req store.ClaimRequest) (store.Claim, error)
	ReleaseCommand(ctx context.Context, c store.Claim) error
	SeenSignature(ctx context.Context, sig string) (bool, error)
	Audit(ctx context.Context, e store.AuditEvent) error
	SaveLink(ctx context.Context, l store.Link, c *store.Claim, window time.Duration) error
	LinkPosted(ctx context.Context, intentID, channel, ts string, created store.AuditEvent) error
	Allow(ctx context.Context, what, team, user, mark string, limit int, window time.Duration) (bool, time.Duration, error)
	Link(ctx context.Context, intentID string) (*store.Link, error)
	ChannelLinks(ctx context.Context, team, channel string, n int) ([]*store.Link, error)
	LinksByReference(ctx context.Context, team, reference string, n int) ([]*store.Link, error)
	RecordStatus(ctx context.Context, e store.StatusEvent) (store.StatusChange, error)
}

// linker turns a parsed command into a payment link: it creates the Dojo intent,
// records it, and posts it in the channel.
type linker struct {
	cfg    Config
	links  PaymentLinks
	store  CommandStore
	slack  *slack.Client
	hc     *http.Client
	tasks  *Tasks
	now    func() time.Time
	groups *policy.Groups
	m      *metrics.Metrics
	// admit bounds the commands whose work is under way (see admission).
	admit *admission
	// intents keeps Dojo's recent answers for look-ups.
	intents intentCache
}

// inflightWait is how long a command waits for a free slot when the limit of commands
// under way is reached.
const inflightWait = 2 * time.Second

// ackDeadline is when a command must have been answered, with room left within Slack's
// 3 seconds for the answer to travel.
const ackDeadline = 2500 * time.Millisecond

// Command answers a slash command within cfg.AckBudget plus a little, and leaves
// nothing behind for a rejected command.
func (l *linker) Command(ctx context.Context, log zerolog.Logger, in slackin.Request, sc slack.SlashCommand) slackin.Reply {
	clog := log.With().Str("team", sc.TeamID).Str("channel", sc.ChannelID).Str("user", sc.UserID).Logger()

	cmd, err := ParseCommand(sc.Text)
	// A create command's signature is checked with its claim, in the same round trip.
	if (err != nil || cmd.Kind != CommandCreate) && l.Replayed(ctx, clog, in.Signature) {
		l.m.Command("replayed")
		return slackin.Reply{Unauthorized: true}
	}
	if err != nil {
		var usage *UsageError
		if errors.As(err, &usage) {
			l.m.Command("rejected")
			l.refused(clog, sc, cmd, usage.Problem)
			return slackin.Reply{Text: usage.Message()}
		}
		clog.Error().Err(err).Msg("slash command: parse")
		return slackin.Reply{Text: "Sorry, that command could not be read.\n" + Usage}
	}
	reqID := in.ID
	switch cmd.Kind {
	case CommandHelp:
		l.m.Command("help")
		return slackin.Reply{Text: helpText}
	case CommandForm:
		l.m.Command("form")
		if err := l.openForm(ctx, sc); err != nil {
			clog.Warn().Err(err).Msg("could not open the form; answering with help")
			return slackin.Reply{Text: helpText}
		}
		return slackin.Reply{}
	case CommandList, CommandStatus, CommandCancel:
		// Reading links is bound by the same allow-lists as making them.
		if msg := l.cfg.Policy.Refuse(ctx, l.groups, sc.UserID, sc.ChannelID); msg != "" {
			l.m.Command("not_allowed")
			l.refused(clog, sc, cmd, msg)
			return slackin.Reply{Text: msg}
		}
	}
	switch cmd.Kind {
	case CommandList:
		l.m.Command("list")
		return l.list(ctx, clog, sc)
	case CommandStatus, CommandCancel:
		l.m.Command(map[CommandKind]string{CommandStatus: "status", CommandCancel: "cancel"}[cmd.Kind])
		rep, _ := l.run(clog, sc.ResponseURL, func(ctx context.Context, h *handoff) {
			l.subcommand(ctx, clog, sc, cmd, h)
		}, "Asking Dojo… the answer will follow here in a moment.")
		return rep
	case CommandCreate:
	default:
		return slackin.Reply{Text: helpText}
	}
	if err := l.cfg.MaxAmounts.Check(cmd.Amount); err != nil {
		var over *policy.OverLimit
		if errors.As(err, &over) {
			usage := &UsageError{Problem: over.Problem}
			if l.Replayed(ctx, clog, in.Signature) {
				l.m.Command("replayed")
				return slackin.Reply{Unauthorized: true}
			}
			l.m.Command("over_limit")
			l.refused(clog, sc, cmd, usage.Problem)
			return slackin.Reply{Text: usage.Message()}
		}
	}
	if msg := l.cfg.Policy.Refuse(ctx, l.groups, sc.UserID, sc.ChannelID); msg != "" {
		// A refused request is recorded as seen too: replayed, it is refused again
		// as a replay, not audited again.
		if l.Replayed(ctx, clog, in.Signature) {
			l.m.Command("replayed")
			return slackin.Reply{Unauthorized: true}
		}
		l.m.Command("not_allowed")
		l.refused(clog, sc, cmd, msg)
		return slackin.Reply{Text: msg}
	}
	// The usual case: acknowledged at once, the outcome logged when it is known.
	rep, _ := l.start(clog, reqID, in.Signature, sc, cmd)
	return rep
}
