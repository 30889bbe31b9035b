// Package dojo is Dojo's online payments API as paylink uses it: payment intents
// (create, get, cancel, search, refund, reverse), money in minor units, RFC 7807 errors, and
// webhook signatures and events. It knows nothing of Slack or Redis.
package dojo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/paylink/paylink/dojo/safetext"
)

// Defaults for Config.
const (
	DefaultBaseURL = "https://api.dojo.tech"
	DefaultVersion = "2026-02-27"
	DefaultTimeout = 15 * time.Second
)

// responseLimit caps how much of an answer is read; a payment intent is a few KiB.
const responseLimit = 1 << 20

// Config configures a Client.
type Config struct {
	BaseURL    string        // default DefaultBaseURL
	APIKey     string        // sk_sandbox_… or sk_prod_…, sent as "Authorization: Basic <key>"
	Version    string        // the pinned "version" header; default DefaultVersion
	HTTPClient *http.Client  // default a client with no timeout of its own
	Timeout    time.Duration // per attempt; default DefaultTimeout
	UserAgent  string
	// Retries is how many times a safe call (GET, search, a refund with its
	// idempotency key) is tried again after a temporary failure. Default 2; a negative
	// value means none. Creating and cancelling are never retried.
	Retries int
	// Clock times the waits between retries; default the real clock.
	Clock clockwork.Clock
}

// Client calls Dojo's API. It is safe for concurrent use.
type Client struct {
	base    string
	key     string
	version string
	hc      *http.Client
	timeout time.Duration
	ua      string
	retries int
	backoff func(attempt int) time.Duration
	clock   clockwork.Clock
}

// NewClient returns a client for cfg.
func NewClient(cfg Config) *Client {
	c := &Client{
		base:    strings.TrimRight(cfg.BaseURL, "/"),
		key:     cfg.APIKey,
		version: cfg.Version,
		hc:      cfg.HTTPClient,
		timeout: cfg.Timeout,
		ua:      cfg.UserAgent,
		retries: cfg.Retries,
		clock:   cfg.Clock,
	}
	if c.clock == nil {
		c.clock = clockwork.NewRealClock()
	}
	if c.base == "" {
		c.base = DefaultBaseURL
	}
	if c.version == "" {
		c.version = DefaultVersion
	}
	if c.hc == nil {
		c.hc = &http.Client{}
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.ua == "" {
		c.ua = "paylink"
	}
	switch {
	case c.retries == 0:
		c.retries = 2
	case c.retries < 0:
		c.retries = 0
	}
	c.backoff = func(attempt int) time.Duration { return time.Duration(attempt*attempt) * 250 * time.Millisecond }
	return c
}

// CreatePaymentIntent creates a payment intent: the payment link is
// https://pay.dojo.tech/checkout/<id>. It is tried once: Dojo has no idempotency key
// for it, so after a timeout the intent may exist without paylink knowing its id.
func (c *Client) CreatePaymentIntent(ctx context.Context, req CreateRequest) (*PaymentIntent, error) {
	var pi PaymentIntent
	if err := c.call(ctx, "create payment intent", http.MethodPost, "/payment-intents", nil, req, &pi, false); err != nil {
		return nil, err
	}
	return &pi, nil
}

// PaymentIntent fetches a payment intent, canceled ones included.
func (c *Client) PaymentIntent(ctx context.Context, id string) (*PaymentIntent, error) {
	var pi PaymentIntent
	q := url.Values{"returnCanceled": {"true"}}
	if err := c.call(ctx, "get payment intent", http.MethodGet, "/payment-intents/"+url.PathEscape(id), q, nil, &pi, true); err != nil {
		return nil, err
	}
	return &pi, nil
}

// CancelPaymentIntent cancels a payment intent that has not been paid.
func (c *Client) CancelPaymentIntent(ctx context.Context, id string) (*PaymentIntent, error) {
	var pi PaymentIntent
	if err := c.call(ctx, "cancel payment intent", http.MethodDelete, "/payment-intents/"+url.PathEscape(id), nil, nil, &pi, false); err != nil {
		return nil, err
	}
	return &pi, nil
}

// SearchPaymentIntents returns one page of payment intents matching req.
func (c *Client) SearchPaymentIntents(ctx context.Context, req SearchRequest) (*SearchResult, error) {
	var res SearchResult
	if err := c.call(ctx, "search payment intents", http.MethodPost, "/payment-intents/search", nil, req, &res, true); err != nil {
		return nil, err
	}
	return &res, nil
}

// RefundPaymentIntent refunds amount of a captured payment intent. idempotencyKey
// (≤100 characters) makes a retried refund safe: Dojo refunds once per key.
func (c *Client) RefundPaymentIntent(ctx context.Context, id, idempotencyKey string, req RefundRequest) (*Refund, error) {
	if idempotencyKey == "" || len(idempotencyKey) > 100 {
		return nil, &Error{Op: "refund payment intent", Err: errors.New("an idempotency key of 1-100 characters is required")}
	}
	var r Refund
	hdr := func(h http.Header) { h.Set("idempotencyKey", idempotencyKey) }
	if err := c.callWith(ctx, "refund payment intent", http.MethodPost, "/payment-intents/"+url.PathEscape(id)+"/refunds", nil, req, &r, true, hdr); err != nil {
		return nil, err
	}
	return &r, nil
}

// ReversePaymentIntent reverses a captured payment intent: the whole amount, only on
// the calendar day it was paid (Dojo refuses it otherwise, with 400 or 409). Dojo has
// no idempotency key for it, so it is tried once; a reversal that timed out is found
// by reading the intent, which then reports Reversed.
func (c *Client) ReversePaymentIntent(ctx context.Context, id string) (*Reversal, error) {
	var r Reversal
	if err := c.call(ctx, "reverse payment intent", http.MethodPost, "/payment-intents/"+url.PathEscape(id)+"/reversal", nil, nil, &r, false); err != nil {
		return nil, err
	}
	return &r, nil
}

func (c *Client) call(ctx context.Context, op, method, path string, q url.Values, in, out any, retry bool) error {
	return c.callWith(ctx, op, method, path, q, in, out, retry, nil)
}

// callWith sends one API call, and retries it after temporary failures when retry is
// set, within ctx.
func (c *Client) callWith(ctx context.Context, op, method, path string, q url.Values, in, out any, retry bool, hdr func(http.Header)) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return &Error{Op: op, Err: fmt.Errorf("encode request: %w", err)}
		}
	}
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	attempts := 1
	if retry {
		attempts += c.retries
	}
	var err error
	for attempt := 1; ; attempt++ {
		err = c.once(ctx, op, method, u, body, out, hdr)
		var de *Error
		if err == nil || attempt >= attempts || !errors.As(err, &de) || !de.Temporary() || ctx.Err() != nil {
			return err
		}
		wait := c.clock.NewTimer(c.backoff(attempt))
		select {
		case <-ctx.Done():
			wait.Stop()
			return err
		case <-wait.Chan():
		}
	}
}

func (c *Client) once(ctx context.Context, op, method, u string, body []byte, out any, hdr func(http.Header)) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return &Error{Op: op, Err: err}
	}
	req.Header.Set("Authorization", "Basic "+c.key)
	req.Header.Set("version", c.version)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if hdr != nil {
		hdr(req.Header)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return c.transportError(op, ctx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, responseLimit))
	if err != nil {
		return c.transportError(op, ctx, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.problemError(op, resp, data)
	}
	if out == nil || len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return &Error{Op: op, StatusCode: resp.StatusCode, Title: "Unreadable answer", Err: redacted{err: fmt.Errorf("decode answer: %w", err), secret: c.key}}
	}
	return nil
}

// transportError wraps a failure to get an answer, with the key scrubbed from its text.
func (c *Client) transportError(op string, ctx context.Context, err error) error {
	timeout := errors.Is(err, context.DeadlineExceeded) || ctx.Err() == context.DeadlineExceeded
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) && ne.Timeout() {
		timeout = true
	}
	return &Error{Op: op, Timeout: timeout, Err: redacted{err: err, secret: c.key}}
}

// Limits on what of an error answer is kept, applied after scrubbing.
const (
	plainDetailLimit = 300 // a body that is not problem JSON
	traceIDLimit     = 100 // a W3C traceparent is 55 characters
)

// problemError decodes an RFC 7807 answer; a body that isn't one is kept as detail.
// Everything taken from the answer is scrubbed of the API key before it is cut.
func (c *Client) problemError(op string, resp *http.Response, data []byte) error {
	e := &Error{Op: op, StatusCode: resp.StatusCode}
	var p problem
	plain := false
	if json.Unmarshal(data, &p) == nil {
		e.Type, e.Title, e.Detail, e.Instance, e.TraceID, e.Errors = p.Type, p.Title, p.Detail, p.Instance, p.TraceID, p.Errors
	} else if text := strings.TrimSpace(string(data)); text != "" && !strings.HasPrefix(text, "<") {
		e.Detail, plain = text, true
	}
	if e.TraceID == "" {
		e.TraceID = resp.Header.Get("traceparent")
	}
	scrubError(e, c.key)
	if plain {
		e.Detail = safetext.Truncate(e.Detail, plainDetailLimit, "…")
	}
	e.TraceID = safetext.Truncate(e.TraceID, traceIDLimit, "…")
	return e
}
