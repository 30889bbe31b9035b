package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"github.com/paylink/paylink/bot/audit"
	"github.com/paylink/paylink/bot/slackin"
	"github.com/paylink/paylink/bot/slackout"
	"github.com/paylink/paylink/store"
)

// announce posts the link message in the command's channel with chat.postMessage and
// records its ts. Where the bot can't post (a private channel or DM it is not in) the
// command's response_url carries the link into the channel instead; if Slack refuses
// for another reason, the agent gets the link privately.
func (l *linker) announce(ctx context.Context, j createJob, link *store.Link, created store.AuditEvent) {
	log := j.log.With().Str("intent", link.IntentID).Logger()
	audited := false
	defer func() {
		if !audited {
			l.audit(ctx, log, created)
		}
	}()
	text, blocks := slackout.Card(link, l.cfg.CheckoutURL)
	channel, ts, err := slackout.PostMessage(ctx, l.slack, link.ChannelID,
		slack.MsgOptionText(text, false),
		slack.MsgOptionBlocks(blocks...),
		slack.MsgOptionDisableLinkUnfurl(),
		slack.MsgOptionDisableMediaUnfurl(),
	)
	if err == nil {
		// The message ts and the audit event in one round trip.
		audit.Log(log, created)
		audited = true
		if err := l.store.LinkPosted(ctx, link.IntentID, channel, ts, created); err != nil {
			log.Error().Err(err).Msg("could not record the link message ts")
		}
		return
	}
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
	l.respondEphemeral(ctx, j, fmt.Sprintf("Paylink could not post the link in this channel (Slack said %q). Here it is, to send to the customer: %s",
		code, l.cfg.CheckoutURL+link.IntentID))
}

// duplicateReply tells the agent a link for the same reference is still open and
// offers to create another anyway.
func (l *linker) duplicateReply(ctx context.Context, j createJob, open []string) slackin.Reply {
	var lines []string
	for i, id := range open {
		if i == 3 {
			break
		}
		if rec, err := l.store.Link(ctx, id); err == nil {
			lines = append(lines, slackout.ListLine(rec, l.cfg.CheckoutURL))
		} else {
			lines = append(lines, "• `"+l.cfg.CheckoutURL+id+"`")
		}
	}
	text := fmt.Sprintf("A payment link for %s is still open, so no second one was created:\n%s\nSend the customer that link, or create another anyway.",
		slackout.Escape(j.cmd.Reference), strings.Join(lines, "\n"))
	return slackin.Reply{Text: text, Blocks: slackout.Duplicate(text, anywayButtonValue(j.cmd))}
}

// anywayButtonValue encodes a command for the "Create another anyway" button, within
// Slack's 2000-character limit for a button's value (a description that would not fit
// is left out).
func anywayButtonValue(cmd Command) string {
	v := anywayValue{Amount: cmd.Amount.Value, Currency: cmd.Amount.CurrencyCode,
		Reference: cmd.Reference, Expires: int64(cmd.Expires / time.Second), Description: cmd.Description}
	enc := func() string {
		var b strings.Builder
		e := json.NewEncoder(&b)
		e.SetEscapeHTML(false)
		e.Encode(v)
		return strings.TrimSpace(b.String())
	}
	out := enc()
	if len([]rune(out)) > 2000 {
		v.Description = ""
		out = enc()
	}
	return out
}

// anywayValue is the "Create another anyway" button's value: the command to run again.
type anywayValue struct {
	Amount      int64  `json:"a"`
	Currency    string `json:"c"`
	Reference   string `json:"r"`
	Expires     int64  `json:"e,omitempty"` // seconds
	Description string `json:"d,omitempty"`
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

// respondEphemeral tells the command's author something after the command was
// acknowledged, through its response_url.
func (l *linker) respondEphemeral(ctx context.Context, j createJob, text string) {
	l.respond(ctx, j.log, j.sc.ResponseURL, slackin.Reply{Text: text})
}
