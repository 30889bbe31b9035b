package flow

import (
	"context"
	"errors"

	"github.com/rs/zerolog"

	"github.com/paylink/paylink/bot/policy"
	"github.com/paylink/paylink/store"
)

// Refusal is why today's policy turns a request away.
type Refusal struct {
	// OverLimit is true when the amount is over the cap for its currency; otherwise
	// the user or the channel is not on the allow-lists.
	OverLimit bool
	// Problem says what was wrong, for the user.
	Problem string
}

// Admit applies today's policy to a request: the amount cap (for an order) and the
// allow-lists of users, user groups and channels. Every path that creates or reads
// links asks it, whatever the policy was when a card or a form was made; nil means
// go ahead. The rate limit and the duplicate-reference guard are applied with the
// claim, in Create.
func (s *Service) Admit(ctx context.Context, from Origin, order *Order) *Refusal {
	if order != nil {
		var over *policy.OverLimit
		if err := s.cfg.MaxAmounts.Check(order.Amount); errors.As(err, &over) {
			return &Refusal{OverLimit: true, Problem: over.Problem}
		}
	}
	if msg := s.cfg.Policy.Refuse(ctx, s.groups, from.User, from.Channel); msg != "" {
		return &Refusal{Problem: msg}
	}
	return nil
}

// Refused logs and audits a request refused for why (an order's details when it
// asked for a link).
func (s *Service) Refused(ctx context.Context, log zerolog.Logger, from Origin, order Order, why string) {
	log.Info().Str("outcome", "rejected").Str("problem", why).Msg("slash command")
	s.audit(ctx, log, store.AuditEvent{Event: "refused", Team: from.Team, Channel: from.Channel, User: from.User,
		Amount: order.Amount.Value, Currency: order.Amount.CurrencyCode, Reference: order.Reference, Detail: why})
}

// LookUp counts a look-up at Dojo against the user's limit; it returns a refusal to
// show, or "".
func (s *Service) LookUp(ctx context.Context, log zerolog.Logger, from Origin, mark string) string {
	return policy.LookUp(ctx, log, s.allow, from.Team, from.User, mark)
}
