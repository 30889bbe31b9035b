package bot

import (
	"context"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"github.com/paylink/paylink/bot/flow"
	"github.com/paylink/paylink/bot/slackin"
	"github.com/paylink/paylink/bot/slackout"
	"github.com/paylink/paylink/store"
)

// createMetric is the commands metric's label for each outcome of a create.
var createMetric = map[flow.Outcome]string{
	flow.Created: "created", flow.Replayed: "replayed", flow.RateLimited: "rate_limited",
	flow.BeingCreated: "duplicate_reference", flow.StillOpen: "duplicate_reference",
	flow.Repeat: "repeat", flow.RepeatPending: "repeat_pending", flow.DojoFailed: "dojo_error",
	flow.StoreFailed: "store_error", flow.RecordFailed: "store_error",
}

// start creates a link in the background and waits up to cfg.AckBudget for its first
// answer: what to acknowledge the command with (empty when the link is made and about
// to be posted). When the budget runs out first, it acknowledges with nothing and the
// work reports through response_url (see run).
func (l *linker) start(log zerolog.Logger, req flow.CreateRequest) slackin.Reply {
	rep, _ := l.run(log, req.From.ResponseURL, func(ctx context.Context, h *handoff) { l.create(ctx, log, req, h) },
		creatingText(req.Order))
	return rep
}

// create makes the link and posts it. Its first answer goes to h: nothing (the card
// follows) when the link is made, else why not.
func (l *linker) create(ctx context.Context, log zerolog.Logger, req flow.CreateRequest, h *handoff) {
	answered := false
	answer := func(r slackin.Reply) {
		answered = true
		if !h.deliver(r) && (r.Text != "" || r.Blocks != nil) && !r.Unauthorized {
			l.respond(ctx, log, req.From.ResponseURL, r)
		}
	}
	defer func() {
		if !answered {
			answer(slackin.Reply{Text: msgWentWrong})
		}
	}()
	res := l.flow.Create(ctx, log, req)
	l.m.Command(createMetric[res.Outcome])
	switch res.Outcome {
	case flow.Created:
		answer(slackin.Reply{})
		l.announce(ctx, log, res.Link)
	case flow.Replayed:
		answer(slackin.Reply{Unauthorized: true})
	default:
		text, blocks := createAnswer(res, req.Order, l.cfg.CheckoutURL)
		answer(slackin.Reply{Text: text, Blocks: blocks})
	}
}

// announce posts the link's card in its channel with chat.postMessage and records its
// ts. Where the bot can't post (a private channel or DM it is not in) the command's
// response_url carries the card into the channel instead; if Slack refuses for another
// reason, the agent gets the link privately.
func (l *linker) announce(ctx context.Context, log zerolog.Logger, link *store.Link) {
	log = log.With().Str("intent", link.IntentID).Logger()
	text, blocks := slackout.Card(link, l.cfg.CheckoutURL)
	channel, ts, err := slackout.PostMessage(ctx, l.chat, l.clock, slackout.Message{Channel: link.ChannelID, Text: text, Blocks: blocks})
	if err == nil {
		l.flow.Posted(ctx, log, link, channel, ts)
		return
	}
	l.flow.Unposted(ctx, log, link)
	l.m.SlackError("chat.postMessage", err)
	code := slackout.ErrorCode(err)
	if slackout.ChannelUnreachable(code) {
		log.Info().Str("slack_error", code).Msg("posting the link through response_url")
		msg := &slack.WebhookMessage{
			ResponseType: slack.ResponseTypeInChannel,
			Text:         text,
			Blocks:       &slack.Blocks{BlockSet: blocks},
			UnfurlLinks:  new(false),
			UnfurlMedia:  new(false),
		}
		if err := slackout.PostResponse(ctx, l.hc, link.ResponseURL, msg); err == nil {
			return
		} else {
			log.Error().Err(err).Msg("could not post the link through response_url")
		}
	} else {
		log.Error().Err(err).Str("slack_error", code).Msg("could not post the link")
	}
	l.respond(ctx, log, link.ResponseURL, slackin.Reply{Text: unpostedText(code, l.cfg.CheckoutURL, link.IntentID)})
}

// respond posts r to a response_url as an ephemeral message.
func (l *linker) respond(ctx context.Context, log zerolog.Logger, responseURL string, r slackin.Reply) {
	if responseURL == "" {
		log.Error().Msg("no response_url to answer through")
		return
	}
	msg := &slack.WebhookMessage{
		ResponseType: slack.ResponseTypeEphemeral,
		Text:         r.Text,
		UnfurlLinks:  new(false),
		UnfurlMedia:  new(false),
	}
	if r.Blocks != nil {
		msg.Blocks = &slack.Blocks{BlockSet: r.Blocks}
	}
	if err := slackout.PostResponse(ctx, l.hc, responseURL, msg); err != nil {
		log.Error().Err(err).Msg("could not answer through response_url")
	}
}
