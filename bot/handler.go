package bot

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"github.com/paylink/paylink/bot/flow"
	"github.com/paylink/paylink/bot/metrics"
	"github.com/paylink/paylink/bot/slackin"
	"github.com/paylink/paylink/bot/slackout"
)

// linker is the link flow in Slack: it takes the commands and interactions slackin
// decodes to the flow, answers within Slack's 3 seconds, and renders and posts the
// flow's results through slackout.
type linker struct {
	cfg   Config
	flow  *flow.Service
	slack *slack.Client  // forms (views.open) and card updates
	chat  *slackout.Chat // posts: the card, refunds in its thread
	hc    *http.Client
	tasks *Tasks
	clock clockwork.Clock
	m     *metrics.Metrics
	// admit bounds the commands whose work is under way (see admission).
	admit *admission
}

// inflightWait is how long a command waits for a free slot when the limit of commands
// under way is reached.
const inflightWait = 2 * time.Second

// ackDeadline is when a command must have been answered, with room left within Slack's
// 3 seconds for the answer to travel.
const ackDeadline = 2500 * time.Millisecond

// Replayed reports whether a request's signature was seen before.
func (l *linker) Replayed(ctx context.Context, log zerolog.Logger, sig string) bool {
	return l.flow.Replayed(ctx, log, sig)
}

// Command answers a slash command within cfg.AckBudget plus a little, and leaves
// nothing behind for a rejected command.
func (l *linker) Command(ctx context.Context, log zerolog.Logger, in slackin.Request, sc slack.SlashCommand) slackin.Reply {
	clog := log.With().Str("team", sc.TeamID).Str("channel", sc.ChannelID).Str("user", sc.UserID).Logger()
	from := flow.Origin{Team: sc.TeamID, Channel: sc.ChannelID, User: sc.UserID, ResponseURL: sc.ResponseURL}

	cmd, err := slackin.ParseCommand(sc.Text)
	// A create command's signature is checked with its claim, in the same round trip.
	if (err != nil || cmd.Kind != slackin.CommandCreate) && l.Replayed(ctx, clog, in.Signature) {
		l.m.Command("replayed")
		return slackin.Reply{Unauthorized: true}
	}
	if err != nil {
		var usage *slackin.UsageError
		if errors.As(err, &usage) {
			l.m.Command("rejected")
			l.refused(clog, from, cmd.Order, usage.Problem)
			return slackin.Reply{Text: usage.Message()}
		}
		clog.Error().Err(err).Msg("slash command: parse")
		return slackin.Reply{Text: "Sorry, that command could not be read.\n" + slackout.Usage}
	}
	switch cmd.Kind {
	case slackin.CommandHelp:
		l.m.Command("help")
		return slackin.Reply{Text: slackout.Help}
	case slackin.CommandForm:
		l.m.Command("form")
		if err := l.openForm(ctx, sc); err != nil {
			clog.Warn().Err(err).Msg("could not open the form; answering with help")
			return slackin.Reply{Text: slackout.Help}
		}
		return slackin.Reply{}
	case slackin.CommandList, slackin.CommandStatus, slackin.CommandCancel:
		// Reading links is bound by the same allow-lists as making them (the
		// signature was checked above).
		if r := l.flow.Admit(ctx, from, nil); r != nil {
			l.m.Command("not_allowed")
			l.refused(clog, from, cmd.Order, r.Problem)
			return slackin.Reply{Text: r.Problem}
		}
		return l.subcommand(ctx, clog, from, cmd)
	case slackin.CommandRefund:
		// Who may refund is the refunders and admins, whatever the allow-lists say.
		return l.refundCommand(ctx, clog, from, sc, cmd)
	case slackin.CommandCreate:
		if r := l.flow.Admit(ctx, from, &cmd.Order); r != nil {
			// A refused request is recorded as seen too: replayed, it is refused again
			// as a replay, not audited again.
			if l.Replayed(ctx, clog, in.Signature) {
				l.m.Command("replayed")
				return slackin.Reply{Unauthorized: true}
			}
			l.m.Command(refusalMetric(r))
			l.refused(clog, from, cmd.Order, r.Problem)
			return slackin.Reply{Text: refusalText(r)}
		}
		// The usual case: acknowledged at once, the outcome logged when it is known.
		return l.start(clog, flow.CreateRequest{From: from, Order: cmd.Order, RequestID: in.ID, Signature: in.Signature})
	}
	return slackin.Reply{Text: slackout.Help}
}

// refused logs and audits a refused request, in the background: the answer does not
// wait for Redis.
func (l *linker) refused(log zerolog.Logger, from flow.Origin, order flow.Order, why string) {
	l.tasks.Go(5*time.Second, func(ctx context.Context) {
		l.flow.Refused(ctx, log, from, order, why)
	})
}
