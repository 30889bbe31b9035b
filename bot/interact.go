package bot

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"github.com/paylink/paylink/bot/policy"
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
		return l.submitForm(ilog, in.ID, cb)
	}
	return slackin.Reply{}
}

// blockAction starts the work of one button. It reports whether it acted.
func (l *linker) blockAction(log zerolog.Logger, reqID string, cb *slack.InteractionCallback, a *slack.BlockAction) bool {
	log = log.With().Str("action", a.ActionID).Logger()
	switch a.ActionID {
	case slackout.ActionRefresh, slackout.ActionCancel, slackout.ActionNewLink:
		if !dojo.ValidIntentID(a.Value) {
			return false
		}
		l.tasks.Go(l.cfg.WorkTimeout, func(ctx context.Context) {
			rec, err := l.store.Link(ctx, a.Value)
			if err == nil && rec.TeamID != cb.Team.ID {
				err = store.ErrNotFound
			}
			if err != nil {
				log.Warn().Err(err).Str("intent", a.Value).Msg("button for a link with no record")
				l.respond(ctx, log, cb.ResponseURL, slackin.Reply{Text: "Paylink no longer has a record of this link."})
				return
			}
			switch a.ActionID {
			case slackout.ActionRefresh:
				if msg := policy.LookUp(ctx, log, l.store, cb.Team.ID, cb.User.ID, reqID); msg != "" {
					l.respond(ctx, log, cb.ResponseURL, slackin.Reply{Text: msg})
					return
				}
				l.forget(rec.IntentID) // the button asks Dojo now
				text := l.refresh(ctx, log, rec)
				l.updateCardFrom(ctx, log, rec, cb)
				l.respond(ctx, log, cb.ResponseURL, slackin.Reply{Text: text})
			case slackout.ActionCancel:
				l.respond(ctx, log, cb.ResponseURL, slackin.Reply{Text: l.cancelLink(ctx, log, rec, cb.User.ID)})
			case slackout.ActionNewLink:
				cmd := Command{Kind: CommandCreate, Amount: dojo.Money{Value: rec.Amount, CurrencyCode: rec.Currency},
					Reference: rec.Reference, Description: rec.Description}
				l.createFromInteraction(ctx, log, reqID, cb, rec.ChannelID, cmd, false, "new:"+rec.IntentID)
			}
		})
		return true
	case slackout.ActionCreateAnyway:
		var v anywayValue
		if err := json.Unmarshal([]byte(a.Value), &v); err != nil {
			return false
		}
		cur, ok := dojo.LookupCurrency(v.Currency)
		ref, err := checkReference(v.Reference)
		if !ok || err != nil || v.Amount <= 0 {
			return false
		}
		cmd := Command{Kind: CommandCreate, Amount: dojo.Money{Value: v.Amount, CurrencyCode: cur.Code}, Reference: ref, Description: v.Description}
		if d := timeSeconds(v.Expires); d >= MinExpiry && d <= MaxExpiry {
			cmd.Expires = d
		}
		channel := cb.Channel.ID
		if channel == "" {
			channel = cb.Container.ChannelID
		}
		l.tasks.Go(l.cfg.WorkTimeout, func(ctx context.Context) {
			l.createFromInteraction(ctx, log, reqID, cb, channel, cmd, true, "anyway:"+a.Value)
		})
		return true
	}
	return false
}

// createFromInteraction makes a link for a button or the form; answers go through
// response_url. Today's policy applies, whatever it was when the card or the form was
// made: the amount cap and the allow-lists here, the rate limit and (unless anyway) the
// duplicate-reference guard with the claim. A refusal is told and audited.
func (l *linker) createFromInteraction(ctx context.Context, log zerolog.Logger, reqID string, cb *slack.InteractionCallback, channel string, cmd Command, anyway bool, key string) {
	sc := slack.SlashCommand{
		TeamID:      cb.Team.ID,
		TeamDomain:  cb.Team.Domain,
		ChannelID:   channel,
		UserID:      cb.User.ID,
		UserName:    cb.User.Name,
		ResponseURL: cb.ResponseURL,
	}
	var over *policy.OverLimit
	if err := l.cfg.MaxAmounts.Check(cmd.Amount); errors.As(err, &over) {
		l.m.Command("over_limit")
		l.refused(log, sc, cmd, over.Problem)
		l.respond(ctx, log, sc.ResponseURL, slackin.Reply{Text: over.Problem})
		return
	}
	if msg := l.cfg.Policy.Refuse(ctx, l.groups, sc.UserID, sc.ChannelID); msg != "" {
		l.m.Command("not_allowed")
		l.refused(log, sc, cmd, msg)
		l.respond(ctx, log, sc.ResponseURL, slackin.Reply{Text: msg})
		return
	}
	l.create(ctx, createJob{log: log.With().Str("channel", channel).Logger(), reqID: reqID, sc: sc, cmd: cmd, anyway: anyway, key: key}, noWaiter())
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
	cmd, problems := parseForm(cb.View.State, l.cfg.MaxAmounts)
	if problems != nil {
		log.Info().Str("outcome", "rejected").Interface("problems", problems).Msg("form")
		return slackin.Reply{ViewErrors: problems}
	}
	fcb := *cb
	fcb.ResponseURL = origin.ResponseURL
	l.tasks.Go(l.cfg.WorkTimeout, func(ctx context.Context) {
		l.createFromInteraction(ctx, log, reqID, &fcb, origin.Channel, cmd, false, "")
	})
	return slackin.Reply{}
}
