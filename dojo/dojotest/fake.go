// Package dojotest is a fake Dojo API for tests: package dojofake's fake, as strict as
// Dojo's OpenAPI spec (testdata/dojo-api.json). A request that breaks the spec's
// schemas is refused with 400, as Dojo refuses it, and an answer of its own that
// breaks them fails the test. It speaks Dojo's documented wire format (Basic key auth,
// the version header, JSON bodies, RFC 7807 errors), keeps payment intents in memory,
// and records every request it receives. It can be made slow or made to fail, and it
// can sign and send webhooks as Dojo does.
package dojotest

import (
	"context"
	"testing"

	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/dojo/dojofake"
)

// Server is a fake Dojo API.
type Server = dojofake.Server

// Request is one request the fake received.
type Request = dojofake.Request

// Option configures a Server.
type Option = dojofake.Option

// NewServer starts a fake Dojo, closed when the test ends. A request that breaks
// Dojo's spec is refused, and an answer of its own that breaks it fails the test.
func NewServer(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	errorf := dojofake.WithSpecErrors(func(err error) { tb.Errorf("%v", err) })
	s, err := New(append([]Option{errorf}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// New starts a fake Dojo outside a test; Close stops it. A request that breaks Dojo's
// spec is refused, and an answer of its own that breaks it is reported to the function
// given with WithSpecErrors, if any.
func New(opts ...Option) (*Server, error) {
	c, err := SpecChecker()
	if err != nil {
		return nil, err
	}
	return dojofake.New(append([]Option{dojofake.WithChecker(c)}, opts...)...), nil
}

// SpecChecker returns the checker New and NewServer give the fake: Dojo's OpenAPI
// spec, with the amendments spec.go lists.
func SpecChecker() (dojofake.Checker, error) {
	sp, err := loadSpec()
	if err != nil {
		return nil, err
	}
	return sp, nil
}

// WithAPIKey sets the only API key the fake accepts (default "sk_sandbox_test").
func WithAPIKey(key string) Option { return dojofake.WithAPIKey(key) }

// WithSpecErrors has report called with every answer of the fake's own that breaks
// Dojo's spec (NewServer fails the test instead).
func WithSpecErrors(report func(error)) Option { return dojofake.WithSpecErrors(report) }

// WithoutWebhookSecretOnSubscribe makes new subscriptions start with no secret: the
// subscribe answer carries none and GET …/secrets lists none until one is generated.
func WithoutWebhookSecretOnSubscribe() Option { return dojofake.WithoutWebhookSecretOnSubscribe() }

// Event returns a webhook body for the intent's status change, as Dojo sends it.
func Event(intentID string, status dojo.Status) []byte { return dojofake.Event(intentID, status) }

// SendWebhook POSTs body to url signed with secret, as Dojo delivers it, and returns
// the status code.
func SendWebhook(ctx context.Context, target, secret string, body []byte) (int, error) {
	return dojofake.SendWebhook(ctx, target, secret, body)
}
