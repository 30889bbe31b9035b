package bot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"github.com/paylink/paylink/bot/edge"
	"github.com/paylink/paylink/bot/payments"
	"github.com/paylink/paylink/bot/policy"
	"github.com/paylink/paylink/bot/slackin"
	"github.com/paylink/paylink/bot/slackout"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/store"
)

// listLen is how many links /paylink list shows.
const listLen = 10

// list answers /paylink list: the last links asked for in this channel, with status.
func (l *linker) list(ctx context.Context, log zerolog.Logger, sc slack.SlashCommand) slackin.Reply {
	links, err := l.store.ChannelLinks(ctx, sc.TeamID, sc.ChannelID, listLen)
	if err != nil {
		log.Error().Err(err).Msg("list: store")
		return slackin.Reply{Text: "Paylink could not reach its database. Please try again in a minute."}
	}
	if len(links) == 0 {
		return slackin.Reply{Text: "No payment links have been asked for in this channel yet. " + Usage}
	}
	head := fmt.Sprintf("The last %d payment links asked for in this channel:", len(links))
	if len(links) == 1 {
		head = "The only payment link asked for in this channel so far:"
	}
	lines := []string{head}
	for _, rec := range links {
		lines = append(lines, slackout.ListLine(rec, l.cfg.CheckoutURL))
	}
	return slackin.Reply{Text: strings.Join(lines, "\n")}
}

// findLink finds the link a status or cancel command names: an intent id of this
// workspace, or the newest link with the reference (an open one first, for cancel).
func (l *linker) findLink(ctx context.Context, team, target string, preferOpen bool) (*store.Link, error) {
	if strings.HasPrefix(target, "pi_") && dojo.ValidIntentID(target) {
		rec, err := l.store.Link(ctx, target)
		if err == nil && rec.TeamID != team {
			return nil, store.ErrNotFound
		}
		if err == nil || !errors.Is(err, store.ErrNotFound) {
			return rec, err
		}
	}
	links, err := l.store.LinksByReference(ctx, team, target, 20)
	if err != nil {
		return nil, err
	}
	if len(links) == 0 {
		return nil, store.ErrNotFound
	}
	if preferOpen {
		for _, rec := range links {
			if !store.Closed(rec.Status) {
				return rec, nil
			}
		}
	}
	return links[0], nil
}

// subcommand answers /paylink status and /paylink cancel; its answer goes to h.
func (l *linker) subcommand(ctx context.Context, log zerolog.Logger, sc slack.SlashCommand, cmd Command, h *handoff) {
	answer := func(text string) {
		if !h.deliver(slackin.Reply{Text: text}) {
			l.respond(ctx, log, sc.ResponseURL, slackin.Reply{Text: text})
		}
	}
	rec, err := l.findLink(ctx, sc.TeamID, cmd.Target, cmd.Kind == CommandCancel)
	if err == nil && !l.cfg.Policy.MayView(rec, sc.UserID, sc.ChannelID) {
		// Another channel's link, perhaps a private one's: not shown, not confirmed.
		err = store.ErrNotFound
	}
	if errors.Is(err, store.ErrNotFound) {
		answer(fmt.Sprintf("No payment link with the reference or id %s was found in this workspace.", slackout.Escape(cmd.Target)))
		return
	}
	if err != nil {
		log.Error().Err(err).Msg("subcommand: store")
		answer("Paylink could not reach its database. Please try again in a minute.")
		return
	}
	if cmd.Kind == CommandCancel {
		answer(l.cancelLink(ctx, log, rec, sc.UserID))
		return
	}
	if msg := policy.LookUp(ctx, log, l.store, sc.TeamID, sc.UserID, edge.NewRequestID()); msg != "" {
		answer(msg)
		return
	}
	answer(l.refresh(ctx, log, rec))
}

// refresh asks Dojo where a link stands, records any change (its notices follow) and
// says where it stands.
func (l *linker) refresh(ctx context.Context, log zerolog.Logger, rec *store.Link) string {
	pi, err := l.currentIntent(ctx, rec.IntentID)
	if err != nil {
		log.Warn().Err(err).Str("intent", rec.IntentID).Msg("status: Dojo")
		return "Dojo did not answer, so this is the last status Paylink knows:\n" + slackout.ListLine(rec, l.cfg.CheckoutURL)
	}
	status := string(pi.Status)
	if pi.Status == dojo.StatusCreated && payments.Expired(rec, pi, l.now()) {
		status = store.StatusExpired
	}
	if status != string(dojo.StatusCreated) && pi.Status.Valid() || status == store.StatusExpired {
		if _, err := payments.Record(ctx, l.store, store.StatusEvent{IntentID: rec.IntentID, Status: status,
			EventID: "refresh", Source: "refresh", Origin: origin(rec)}); err != nil {
			log.Warn().Err(err).Msg("status: record")
		}
		if status != rec.Status {
			rec.Status, rec.StatusAt = status, l.now()
		}
	}
	return slackout.ListLine(rec, l.cfg.CheckoutURL)
}

// origin is where rec was asked for.
func origin(rec *store.Link) store.Origin {
	return store.Origin{Team: rec.TeamID, Reference: rec.Reference}
}

// cancelLink cancels rec at Dojo for user, and records it: the card and the thread
// follow through the notifier.
func (l *linker) cancelLink(ctx context.Context, log zerolog.Logger, rec *store.Link, user string) string {
	amount := dojo.Money{Value: rec.Amount, CurrencyCode: rec.Currency}
	if !l.cfg.Policy.MayCancel(rec, user) {
		log.Info().Str("outcome", "refused").Str("intent", rec.IntentID).Msg("cancel")
		l.audit(ctx, log, store.AuditEvent{Event: "refused", Team: rec.TeamID, Channel: rec.ChannelID, User: user,
			Amount: rec.Amount, Currency: rec.Currency, Reference: rec.Reference, Intent: rec.IntentID, Detail: "cancel by someone who may not"})
		return fmt.Sprintf("Only <@%s>, who asked for the %s link for %s, or an admin can cancel it.", rec.UserID, amount, slackout.Escape(rec.Reference))
	}
	if store.Closed(rec.Status) {
		return fmt.Sprintf("The %s link for %s is already closed (%s); nothing to cancel.", amount, slackout.Escape(rec.Reference), slackout.StatusLine(rec.Status))
	}
	_, err := l.links.CancelPaymentIntent(ctx, rec.IntentID)
	l.forget(rec.IntentID)
	if reason, ok := cancelRefusal(err); ok {
		// Dojo keeps the link as it is: record where it stands, so the card follows.
		log.Info().Err(err).Str("intent", rec.IntentID).Msg("cancel: Dojo refused")
		return fmt.Sprintf("The %s link for %s can't be cancelled: %s\n%s",
			amount, slackout.Escape(rec.Reference), slackout.Escape(reason), l.refresh(ctx, log, rec))
	}
	if err != nil {
		log.Warn().Err(err).Str("intent", rec.IntentID).Msg("cancel: Dojo")
		return "Dojo could not cancel the link.\n" + dojoMessage(err)
	}
	if _, err := l.store.RecordStatus(ctx, store.StatusEvent{IntentID: rec.IntentID, Status: string(dojo.StatusCanceled),
		EventID: "cancel:" + user, Source: "slack", Origin: origin(rec)}); err != nil {
		log.Error().Err(err).Msg("cancel: record")
	}
	l.audit(ctx, log, store.AuditEvent{Event: "canceled", Team: rec.TeamID, Channel: rec.ChannelID, User: user,
		Amount: rec.Amount, Currency: rec.Currency, Reference: rec.Reference, Intent: rec.IntentID})
	log.Info().Str("outcome", "canceled").Str("intent", rec.IntentID).Str("by", user).Msg("cancel")
	return fmt.Sprintf("Canceled the %s link for %s. The customer can no longer pay with it.", amount, slackout.Escape(rec.Reference))
}

// cancelRefusal reports whether err is Dojo refusing a cancel, and its reason. Dojo's
// cancel answers 400 for an intent that can't be canceled (404 for one it does not
// know, 409 from older versions); its detail says why.
func cancelRefusal(err error) (string, bool) {
	var de *dojo.Error
	if !errors.As(err, &de) {
		return "", false
	}
	switch de.StatusCode {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusConflict:
	default:
		return "", false
	}
	reason := de.Detail
	if reason == "" {
		reason = strings.Join(de.FieldErrors(), "; ")
	}
	if reason == "" {
		reason = de.Title
	}
	if reason == "" {
		reason = http.StatusText(de.StatusCode)
	}
	return reason, true
}

// dojoMessage is what Dojo said, for the agent.
func dojoMessage(err error) string {
	var de *dojo.Error
	if errors.As(err, &de) {
		return slackout.Escape(de.Message())
	}
	return "Please try again."
}

func timeSeconds(s int64) time.Duration { return time.Duration(s) * time.Second }
