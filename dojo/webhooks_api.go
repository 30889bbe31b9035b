package dojo

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"time"
)

// SubscribeRequest is the body of POST /webhooks: Dojo delivers the named events to
// URL, which must be https. Dojo allows one subscription per event.
type SubscribeRequest struct {
	Events      []string `json:"events"`
	URL         string   `json:"url"`
	Description string   `json:"description,omitempty"`
}

// Subscription is a webhook subscription. Times are kept as Dojo sent them: its
// examples mix ISO 8601 with and without a zone.
type Subscription struct {
	ID          string               `json:"id"`
	AccountID   string               `json:"accountId,omitempty"`
	Events      []string             `json:"events"`
	URL         string               `json:"url"`
	Description string               `json:"description,omitempty"`
	Secrets     []SubscriptionSecret `json:"secrets,omitempty"`
	CreatedAt   string               `json:"createdAt,omitempty"`
	UpdatedAt   string               `json:"updatedAt,omitempty"`
}

// SubscriptionSecret is one signing secret of a subscription. Value is the key of
// the HMAC in the dojo-signature header. A subscription can hold several, each
// active or not.
type SubscriptionSecret struct {
	ID         string `json:"id"`
	Value      string `json:"value"`
	CreatedAt  string `json:"createdAt,omitempty"`
	LastUsedAt string `json:"lastUsedAt,omitempty"`
	IsActive   bool   `json:"isActive"`
}

// String describes the secret without its value, so it is safe to log.
func (s SubscriptionSecret) String() string {
	state := "inactive"
	if s.IsActive {
		state = "active"
	}
	return "secret " + s.ID + " (" + state + ")"
}

// SecretsResponse lists a subscription's secrets. ID, the subscription's id, is
// absent from some answers.
type SecretsResponse struct {
	ID      string               `json:"id,omitempty"`
	Secrets []SubscriptionSecret `json:"secrets"`
}

// Subscribe creates a webhook subscription. It is tried once: a second subscription
// for the same event is refused with 409.
func (c *Client) Subscribe(ctx context.Context, req SubscribeRequest) (*Subscription, error) {
	var sub Subscription
	if err := c.call(ctx, "subscribe to webhooks", http.MethodPost, "/webhooks", nil, req, &sub, false); err != nil {
		return nil, err
	}
	return &sub, nil
}

// WebhookSecrets lists the signing secrets of a subscription.
func (c *Client) WebhookSecrets(ctx context.Context, subscriptionID string) (*SecretsResponse, error) {
	var res SecretsResponse
	if err := c.call(ctx, "list webhook secrets", http.MethodGet, secretsPath(subscriptionID), nil, nil, &res, true); err != nil {
		return nil, err
	}
	return &res, nil
}

// GenerateWebhookSecret adds a signing secret to a subscription and returns its
// secrets. It is tried once, so a retry can't leave an extra secret behind.
func (c *Client) GenerateWebhookSecret(ctx context.Context, subscriptionID string) (*SecretsResponse, error) {
	var res SecretsResponse
	if err := c.call(ctx, "generate webhook secret", http.MethodPost, secretsPath(subscriptionID), nil, nil, &res, false); err != nil {
		return nil, err
	}
	return &res, nil
}

// ActivateWebhookSecret makes a subscription's secret active.
func (c *Client) ActivateWebhookSecret(ctx context.Context, subscriptionID, secretID string) error {
	return c.call(ctx, "activate webhook secret", http.MethodPut, secretsPath(subscriptionID)+"/"+url.PathEscape(secretID)+"/activate", nil, nil, nil, true)
}

func secretsPath(subscriptionID string) string {
	return "/webhooks/" + url.PathEscape(subscriptionID) + "/secrets"
}

// ActiveSecrets returns the values of the active secrets, in order.
func ActiveSecrets(secrets []SubscriptionSecret) []string {
	var out []string
	for _, s := range secrets {
		if s.IsActive && s.Value != "" {
			out = append(out, s.Value)
		}
	}
	return out
}

// SigningSecrets returns the values of a new subscription's active secrets, the ones
// paylink verifies its webhooks with: from Dojo's answer to the subscription, else from
// listing its secrets, else from a secret generated (and activated) for it. A failed
// call is a *SecretStepError naming the step.
func (c *Client) SigningSecrets(ctx context.Context, sub *Subscription) ([]string, error) {
	if got := ActiveSecrets(sub.Secrets); len(got) > 0 {
		return got, nil
	}
	list, err := c.WebhookSecrets(ctx, sub.ID)
	if err != nil {
		return nil, &SecretStepError{Step: "listing its secrets", Err: err}
	}
	if got := ActiveSecrets(list.Secrets); len(got) > 0 {
		return got, nil
	}
	gen, err := c.GenerateWebhookSecret(ctx, sub.ID)
	if err != nil {
		return nil, &SecretStepError{Step: "generating a secret", Err: err}
	}
	if got := ActiveSecrets(gen.Secrets); len(got) > 0 {
		return got, nil
	}
	// The new secret is the one that was not listed before; it may need activating.
	known := map[string]bool{}
	for _, s := range list.Secrets {
		known[s.ID] = true
	}
	for _, s := range gen.Secrets {
		if known[s.ID] || s.Value == "" {
			continue
		}
		if err := c.ActivateWebhookSecret(ctx, sub.ID, s.ID); err != nil {
			return nil, &SecretStepError{Step: "activating the generated secret", Err: err}
		}
		return []string{s.Value}, nil
	}
	return nil, ErrNoSecret
}

// ErrNoSecret is SigningSecrets finding no secret at all.
var ErrNoSecret = errors.New("no signing secret came back from Dojo")

// SecretStepError is a Dojo call of SigningSecrets that failed: Step says which.
type SecretStepError struct {
	Step string // "listing its secrets", "generating a secret", "activating the generated secret"
	Err  error
}

func (e *SecretStepError) Error() string { return e.Step + " failed: " + e.Err.Error() }

func (e *SecretStepError) Unwrap() error { return e.Err }

// NewStatusEvent is a payment_intent.status_updated event, as Dojo sends it, with a
// fresh event id (22 base64url characters, like Dojo's).
func NewStatusEvent(intentID string, status Status, at time.Time) Event {
	b := make([]byte, 16)
	rand.Read(b)
	return Event{
		ID:        "evt_" + base64.RawURLEncoding.EncodeToString(b),
		Event:     EventStatusUpdated,
		AccountID: "acc_test",
		CreatedAt: at.UTC(),
		Data:      EventData{PaymentIntentID: intentID, PaymentStatus: status, CaptureMode: "Auto"},
	}
}
