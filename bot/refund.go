package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"github.com/paylink/paylink/bot/flow"
	"github.com/paylink/paylink/bot/slackin"
	"github.com/paylink/paylink/bot/slackout"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/store"
)

// formBudget is how long opening the refund form may take in all (finding the link,
// asking Dojo, views.open): Slack's trigger id lasts 3 seconds.
const formBudget = 2500 * time.Millisecond

// dojoDays is where Dojo's calendar days are counted (a reversal is allowed on the
// day of the payment): the UK, or UTC where the zone database is missing.
func dojoDays() *time.Location {
	if loc, err := time.LoadLocation("Europe/London"); err == nil {
		return loc
	}
	return time.UTC
}

// refundCommand answers /paylink refund: it finds the link, checks it may be refunded
// and opens the form, or says why not. Nothing changes until the form is submitted.
func (l *linker) refundCommand(ctx context.Context, log zerolog.Logger, from flow.Origin, sc slack.SlashCommand, cmd slackin.Command) slackin.Reply {
	l.m.Command("refund")
	ctx, cancel := context.WithTimeout(ctx, formBudget)
	defer cancel()
	rec, err := l.flow.Find(ctx, from, cmd.Target, false)
	amountText := cmd.Refund.Amount
	if errors.Is(err, store.ErrNotFound) && cmd.Refund.Whole != cmd.Target {
		// "Order 236": a reference that ends in a number.
		if whole, werr := l.flow.Find(ctx, from, cmd.Refund.Whole, false); werr == nil {
			rec, err, amountText = whole, nil, ""
		}
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return slackin.Reply{Text: notFoundText(cmd.Target)}
	case err != nil:
		log.Error().Err(err).Msg("refund: store")
		return slackin.Reply{Text: msgDatabaseDown}
	}
	plan := l.flow.PlanRefund(ctx, log, rec, from.User)
	l.announceRefunds(ctx, log, plan.Link, plan.Settled, "")
	if plan.Outcome != flow.RefundReady {
		return slackin.Reply{Text: refundText(plan)}
	}
	var amount int64
	if amountText != "" {
		cur, _ := dojo.LookupCurrency(rec.Currency)
		var problem string
		if amount, problem = slackin.RefundAmount(amountText, cur, plan.Left); problem != "" {
			return slackin.Reply{Text: problem + "\nWrite it like " + "`/paylink refund " + slackout.Escape(cmd.Target) + " 4.00`, or leave the amount out to refund all that is left."}
		}
	}
	meta := slackout.RefundMeta{Intent: rec.IntentID, Channel: rec.MessageChannel, TS: rec.MessageTS, ResponseURL: sc.ResponseURL}
	if err := l.openRefundForm(ctx, sc.TriggerID, plan, amount, meta); err != nil {
		log.Warn().Err(err).Msg("could not open the refund form")
		return slackin.Reply{Text: "Slack did not open the refund form in time. Please try again."}
	}
	return slackin.Reply{}
}

// refundButton opens the form for the Refund button of a card, or says why not.
func (l *linker) refundButton(log zerolog.Logger, cb *slack.InteractionCallback, intent string) {
	from := flow.Origin{Team: cb.Team.ID, Channel: cb.Channel.ID, User: cb.User.ID, ResponseURL: cb.ResponseURL}
	l.tasks.Go(formBudget, func(ctx context.Context) {
		l.m.Command("refund")
		rec, err := l.flow.Link(ctx, from.Team, intent)
		if err != nil {
			log.Warn().Err(err).Str("intent", intent).Msg("refund button for a link with no record")
			l.respond(ctx, log, cb.ResponseURL, slackin.Reply{Text: msgNoRecord})
			return
		}
		plan := l.flow.PlanRefund(ctx, log, rec, from.User)
		l.announceRefunds(ctx, log, plan.Link, plan.Settled, "")
		if plan.Outcome != flow.RefundReady {
			if plan.Outcome == flow.RefundNothingLeft || plan.Outcome == flow.RefundNotPaid {
				l.updateCardFrom(ctx, log, plan.Link, cb)
			}
			l.respond(ctx, log, cb.ResponseURL, slackin.Reply{Text: refundText(plan)})
			return
		}
		meta := slackout.RefundMeta{Intent: rec.IntentID, Channel: cb.Container.ChannelID, TS: cb.Container.MessageTs, ResponseURL: cb.ResponseURL}
		if cb.Container.IsEphemeral || meta.TS == "" {
			meta.Channel, meta.TS = rec.MessageChannel, rec.MessageTS
		}
		if err := l.openRefundForm(ctx, cb.TriggerID, plan, 0, meta); err != nil {
			log.Warn().Err(err).Msg("could not open the refund form")
			l.respond(ctx, log, cb.ResponseURL, slackin.Reply{Text: "Slack did not open the refund form in time. Please press Refund again."})
		}
	})
}

func (l *linker) openRefundForm(ctx context.Context, trigger string, plan flow.RefundResult, amount int64, meta slackout.RefundMeta) error {
	if trigger == "" {
		return errors.New("no trigger id")
	}
	_, err := l.slack.OpenViewContext(ctx, trigger, slackout.RefundForm(plan.Link, plan.Left, amount, plan.Reversible, meta))
	l.m.SlackError("views.open", err)
	return err
}

// submitRefund answers a submitted refund form: problems on their fields, or the form
// closed and the refund made in the background. The same form submitted again refunds
// nothing more: its key is the one the first submission used.
func (l *linker) submitRefund(ctx context.Context, log zerolog.Logger, cb *slack.InteractionCallback) slackin.Reply {
	var meta slackout.RefundMeta
	if err := json.Unmarshal([]byte(cb.View.PrivateMetadata), &meta); err != nil || !dojo.ValidIntentID(meta.Intent) {
		return slackin.Reply{Invalid: "malformed form"}
	}
	rec, err := l.flow.Link(ctx, cb.Team.ID, meta.Intent)
	if err != nil {
		log.Warn().Err(err).Str("intent", meta.Intent).Msg("refund form for a link with no record")
		return slackin.Reply{ViewErrors: map[string]string{slackout.RefundAmount: msgNoRecord}}
	}
	cur, _ := dojo.LookupCurrency(rec.Currency)
	// Read as typed first: the key, and so whether this form was submitted before,
	// doesn't depend on what is left now.
	order, problems := slackin.ParseRefundForm(cb.View.State, cur, rec.Amount, rec.Amount)
	if problems != nil {
		log.Info().Str("outcome", "rejected").Str("intent", rec.IntentID).Interface("problems", problems).Msg("refund form")
		return slackin.Reply{ViewErrors: problems}
	}
	key := flow.RefundKey(cb.Team.ID, cb.View.ID, rec.IntentID, order.Amount, order.Reverse)
	submittedBefore := false
	for _, e := range rec.Refunds.Entries {
		submittedBefore = submittedBefore || e.Key == key
	}
	if !submittedBefore {
		if _, problems := slackin.ParseRefundForm(cb.View.State, cur, rec.Amount, rec.RefundLeft()); problems != nil {
			log.Info().Str("outcome", "rejected").Str("intent", rec.IntentID).Interface("problems", problems).Msg("refund form")
			return slackin.Reply{ViewErrors: problems}
		}
	}
	req := flow.RefundRequest{From: flow.Origin{Team: cb.Team.ID, Channel: rec.ChannelID, User: cb.User.ID, ResponseURL: meta.ResponseURL},
		Intent: rec.IntentID, Amount: order.Amount, Reason: order.Reason, Reverse: order.Reverse, Key: key}
	l.tasks.Go(l.cfg.WorkTimeout, func(ctx context.Context) {
		res := l.flow.Refund(ctx, log, req)
		l.announceRefunds(ctx, log, res.Link, res.Settled, meta.TS)
		if res.Outcome == flow.Refunded || res.Outcome == flow.Reversed {
			l.announceRefunds(ctx, log, res.Link, []store.Refund{res.Refund}, meta.TS)
		}
		l.respond(ctx, log, meta.ResponseURL, slackin.Reply{Text: refundText(res)})
	})
	return slackin.Reply{}
}

// announceRefunds posts each refund made as a reply in the card's thread, and shows
// the link as it now stands on the card. A card posted through response_url (no ts)
// gets its replies in the channel.
func (l *linker) announceRefunds(ctx context.Context, log zerolog.Logger, rec *store.Link, done []store.Refund, cardTS string) {
	if rec == nil || len(done) == 0 {
		return
	}
	channel, ts := rec.MessageChannel, rec.MessageTS
	if ts == "" {
		channel, ts = rec.ChannelID, cardTS
	}
	for _, r := range done {
		msg := slackout.Message{Channel: channel, ThreadTS: ts, Text: slackout.RefundNotice(rec, r)}
		if _, _, err := slackout.PostMessage(ctx, l.chat, l.clock, msg); err != nil {
			l.m.SlackError("chat.postMessage", err)
			log.Warn().Str("slack_error", slackout.ErrorCode(err)).Msg("could not post the refund in the thread")
		}
	}
	if rec.MessageTS == "" {
		return
	}
	text, blocks := slackout.Card(rec, l.cfg.CheckoutURL)
	if _, _, _, err := l.slack.UpdateMessageContext(ctx, rec.MessageChannel, rec.MessageTS, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...)); err != nil {
		l.m.SlackError("chat.update", err)
		log.Warn().Str("slack_error", slackout.ErrorCode(err)).Msg("could not update the card")
	}
}

// refundText is the answer, only for the person refunding, to a refund or to the
// Refund button or command when no form opens.
func refundText(r flow.RefundResult) string {
	var rec *store.Link
	ref, amount := "", ""
	if rec = r.Link; rec != nil {
		ref = slackout.Escape(rec.Reference)
		amount = dojo.Money{Value: rec.Amount, CurrencyCode: rec.Currency}.String()
	}
	money := func(v int64) string { return dojo.Money{Value: v, CurrencyCode: rec.Currency}.String() }
	left := ""
	if r.Left > 0 && rec != nil {
		left = fmt.Sprintf(" %s is left to refund.", money(r.Left))
	}
	switch r.Outcome {
	case flow.Refunded:
		return fmt.Sprintf("Refunded %s of the %s payment for %s.%s", money(r.Refund.Amount), amount, ref, left)
	case flow.Reversed:
		return fmt.Sprintf("Reversed the %s payment for %s: all of it goes back to the customer.", amount, ref)
	case flow.RefundNotAllowed:
		return "Only the people in PAYLINK_REFUNDERS, and admins, may refund payments. Nothing was refunded; ask one of them."
	case flow.RefundNotPaid:
		return fmt.Sprintf("The %s link for %s has not been paid (%s), so there is nothing to refund.", amount, ref, slackout.StatusLine(rec.Status))
	case flow.RefundNothingLeft:
		if rec.Status == string(dojo.StatusReversed) {
			return fmt.Sprintf("Nothing is left to refund of the %s payment for %s: it was reversed.", amount, ref)
		}
		return fmt.Sprintf("Nothing is left to refund of the %s payment for %s: all of it was refunded already.", amount, ref)
	case flow.RefundTooMuch:
		return fmt.Sprintf("Only %s is left to refund of the %s payment for %s, so nothing was refunded.", money(r.Left), amount, ref)
	case flow.RefundDuplicate:
		return fmt.Sprintf("That refund of %s was made already; it was not made twice.%s", money(r.Refund.Amount), left)
	case flow.RefundUnderWay:
		return fmt.Sprintf("That refund of %s is being made right now; it will not be made twice.", money(r.Refund.Amount))
	case flow.RefundRefused:
		return fmt.Sprintf("Dojo refused the refund, so nothing was refunded: %s%s", slackout.Escape(r.Reason), left)
	case flow.RefundFailed:
		if errors.Is(r.Err, store.ErrNotFound) {
			return msgNoRecord
		}
		if r.Held {
			return fmt.Sprintf("Dojo did not answer about the refund of %s. It is kept aside and asked again, with the same key, the next time anyone refunds this payment; Dojo makes it once at most. Check Dojo's dashboard before refunding it again.", money(r.Refund.Amount))
		}
		var de *dojo.Error
		if errors.As(r.Err, &de) {
			return "Dojo could not be asked about the payment, so nothing was refunded.\n" + slackout.Escape(de.Message())
		}
		return "Something went wrong, so nothing was refunded. Please try again in a minute."
	}
	return msgWentWrong
}
