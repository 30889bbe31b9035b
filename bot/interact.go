package bot

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"github.com/paylink/paylink/bot/flow"
	"github.com/paylink/paylink/bot/slackin"
	"github.com/paylink/paylink/bot/slackout"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/store"
)

// Interaction answers a button press (block_actions) or a form submission
// (view_submission) within 3 seconds, and does slow work (Dojo, Slack) in the
// background, reporting through response_url and the card.
func (l *linker) Interaction(ctx context.Context, log zerolog.Logger, in slackin.Request, cb *slack.InteractionCallback) slackin.Reply {
	ilog := log.With().Str("team", cb.Team.ID).Str("user", cb.User.ID).Str("type", string(cb.Type)).Logger()
	switch cb.Type {
	case slack.InteractionTypeBlockActions:
		for _, a := range cb.ActionCallback.BlockActions {
			if l.blockAction(ilog, in.ID, cb, a) {
				break
			}
		}
	case slack.InteractionTypeViewSubmission:
		if cb.View.CallbackID == slackout.RefundCallbackID {
			return l.submitRefund(ctx, ilog, cb)
		}
		return l.submitForm(ilog, in.ID, cb)
	}
	return slackin.Reply{}
}

// blockAction starts the work of one button. It reports whether it acted.
func (l *linker) blockAction(log zerolog.Logger, reqID string, cb *slack.InteractionCallback, a *slack.BlockAction) bool {
	log = log.With().Str("action", a.ActionID).Logger()
	from := flow.Origin{Team: cb.Team.ID, Channel: cb.Channel.ID, User: cb.User.ID, ResponseURL: cb.ResponseURL}
	if from.Channel == "" {
		from.Channel = cb.Container.ChannelID
	}
	switch a.ActionID {
	case slackout.ActionRefresh, slackout.ActionCancel, slackout.ActionNewLink:
		if !dojo.ValidIntentID(a.Value) {
			return false
		}
		l.tasks.Go(l.cfg.WorkTimeout, func(ctx context.Context) {
			rec, err := l.flow.Link(ctx, cb.Team.ID, a.Value)
			if err != nil {
				log.Warn().Err(err).Str("intent", a.Value).Msg("button for a link with no record")
				l.respond(ctx, log, cb.ResponseURL, slackin.Reply{Text: msgNoRecord})
				return
			}
			switch a.ActionID {
			case slackout.ActionRefresh:
				if msg := l.flow.LookUp(ctx, log, from, reqID); msg != "" {
					l.respond(ctx, log, cb.ResponseURL, slackin.Reply{Text: msg})
					return
				}
				l.flow.Forget(rec.IntentID) // the button asks Dojo now
				st := l.flow.Refresh(ctx, log, rec)
				l.updateCardFrom(ctx, log, rec, cb)
				l.respond(ctx, log, cb.ResponseURL, slackin.Reply{Text: statusText(st, l.cfg.CheckoutURL)})
			case slackout.ActionCancel:
				l.respond(ctx, log, cb.ResponseURL, slackin.Reply{Text: cancelText(l.flow.Cancel(ctx, log, rec, cb.User.ID), l.cfg.CheckoutURL)})
			case slackout.ActionNewLink:
				order := flow.Order{Amount: dojo.Money{Value: rec.Amount, CurrencyCode: rec.Currency},
					Reference: rec.Reference, Description: rec.Description}
				from.Channel = rec.ChannelID
				l.createFromInteraction(ctx, log, flow.CreateRequest{From: from, Order: order, RequestID: reqID, Key: "new:" + rec.IntentID})
			}
		})
		return true
	case slackout.ActionRefund:
		if !dojo.ValidIntentID(a.Value) {
			return false
		}
		l.refundButton(log, cb, a.Value)
		return true
	case slackout.ActionCreateAnyway:
		order, ok := slackin.AnywayOrder(a.Value)
		if !ok {
			return false
		}
		l.tasks.Go(l.cfg.WorkTimeout, func(ctx context.Context) {
			l.createFromInteraction(ctx, log, flow.CreateRequest{From: from, Order: order, RequestID: reqID, Anyway: true, Key: "anyway:" + a.Value})
		})
		return true
	}
	return false
}

// createFromInteraction makes a link for a button or the form; answers go through
// response_url. Today's policy applies, whatever it was when the card or the form was
// made. A refusal is told and audited.
func (l *linker) createFromInteraction(ctx context.Context, log zerolog.Logger, req flow.CreateRequest) {
	log = log.With().Str("channel", req.From.Channel).Logger()
	if r := l.flow.Admit(ctx, req.From, &req.Order); r != nil {
		l.m.Command(refusalMetric(r))
		l.refused(log, req.From, req.Order, r.Problem)
		l.respond(ctx, log, req.From.ResponseURL, slackin.Reply{Text: r.Problem})
		return
	}
	l.create(ctx, log, req, noWaiter())
}

// updateCardFrom re-renders the card a button was pressed on.
func (l *linker) updateCardFrom(ctx context.Context, log zerolog.Logger, rec *store.Link, cb *slack.InteractionCallback) {
	channel, ts := cb.Container.ChannelID, cb.Container.MessageTs
	if channel == "" || ts == "" || cb.Container.IsEphemeral {
		return
	}
	text, blocks := slackout.Card(rec, l.cfg.CheckoutURL)
	if _, _, _, err := l.slack.UpdateMessageContext(ctx, channel, ts, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...)); err != nil {
		l.m.SlackError("chat.update", err)
		log.Warn().Str("slack_error", slackout.ErrorCode(err)).Msg("could not update the card")
	}
}

// openForm opens the form for a command, within the trigger id's 3 seconds.
func (l *linker) openForm(ctx context.Context, sc slack.SlashCommand) error {
	if sc.TriggerID == "" {
		return errors.New("no trigger id")
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := l.slack.OpenViewContext(ctx, sc.TriggerID, slackout.Form(slackout.FormOrigin{Channel: sc.ChannelID, ChannelName: sc.ChannelName, ResponseURL: sc.ResponseURL}, slackin.MaxReferenceLen))
	l.m.SlackError("views.open", err)
	return err
}

// submitForm answers a form submission: problems shown on their fields, or the form
// closed and the link on its way.
func (l *linker) submitForm(log zerolog.Logger, reqID string, cb *slack.InteractionCallback) slackin.Reply {
	if cb.View.CallbackID != slackout.FormCallbackID {
		return slackin.Reply{}
	}
	var origin slackout.FormOrigin
	if err := json.Unmarshal([]byte(cb.View.PrivateMetadata), &origin); err != nil || origin.Channel == "" {
		return slackin.Reply{Invalid: "malformed form"}
	}
	order, problems := slackin.ParseForm(cb.View.State, l.cfg.MaxAmounts)
	if problems != nil {
		log.Info().Str("outcome", "rejected").Interface("problems", problems).Msg("form")
		return slackin.Reply{ViewErrors: problems}
	}
	from := flow.Origin{Team: cb.Team.ID, Channel: origin.Channel, User: cb.User.ID, ResponseURL: origin.ResponseURL}
	l.tasks.Go(l.cfg.WorkTimeout, func(ctx context.Context) {
		l.createFromInteraction(ctx, log, flow.CreateRequest{From: from, Order: order, RequestID: reqID})
	})
	return slackin.Reply{}
}
