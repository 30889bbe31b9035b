package dojo

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// SignatureHeader carries a webhook's signature.
const SignatureHeader = "dojo-signature"

// Event names.
const (
	EventStatusUpdated = "payment_intent.status_updated"
	EventCreated       = "payment_intent.created"
)

// ErrSignature is returned for a webhook whose signature is missing or matches no secret.
var ErrSignature = errors.New("dojo webhook signature missing or invalid")

// SignWebhook returns the dojo-signature header value for body, as Dojo computes it:
// "sha256=" then HMAC-SHA256(secret, body) as upper-case hex pairs joined by "-".
func SignWebhook(secret string, body []byte) string {
	sum := webhookMAC(secret, body)
	var b strings.Builder
	b.Grow(len("sha256=") + len(sum)*3)
	b.WriteString("sha256=")
	const hexUpper = "0123456789ABCDEF"
	for i, c := range sum {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteByte(hexUpper[c>>4])
		b.WriteByte(hexUpper[c&0xf])
	}
	return b.String()
}

func webhookMAC(secret string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}

// VerifySignature checks header (the dojo-signature value) against body for each of
// secrets, so a secret can be rotated with both active. It accepts the hex in either
// letter case, with or without the dashes. Comparisons are constant-time.
func VerifySignature(header string, body []byte, secrets []string) error {
	got, ok := decodeSignature(header)
	if !ok {
		return ErrSignature
	}
	match := 0
	for _, s := range secrets {
		if s == "" {
			continue
		}
		if hmac.Equal(got, webhookMAC(s, body)) {
			match = 1
		}
	}
	if match == 0 {
		return ErrSignature
	}
	return nil
}

// decodeSignature parses "sha256=" + 32 bytes of hex, dashes optional.
func decodeSignature(header string) ([]byte, bool) {
	header = strings.TrimSpace(header)
	scheme, value, ok := strings.Cut(header, "=")
	if !ok || !strings.EqualFold(scheme, "sha256") || len(value) > 3*sha256.Size {
		return nil, false
	}
	value = strings.ReplaceAll(value, "-", "")
	if len(value) != 2*sha256.Size {
		return nil, false
	}
	sum := make([]byte, sha256.Size)
	if _, err := hex.Decode(sum, []byte(value)); err != nil {
		return nil, false
	}
	return sum, true
}

// Event is a webhook delivery.
type Event struct {
	ID        string    `json:"id"`
	Event     string    `json:"event"`
	AccountID string    `json:"accountId"`
	CreatedAt time.Time `json:"createdAt"`
	Data      EventData `json:"data"`
}

// EventData is a payment-intent event's payload. It carries no amount, reference or
// metadata: the intent id is the way back to the link.
type EventData struct {
	PaymentIntentID string `json:"paymentIntentId"`
	PaymentStatus   Status `json:"paymentStatus"`
	CaptureMode     string `json:"captureMode,omitempty"`
}

// DecodeEvent parses a webhook body. Call it only after VerifySignature. It refuses
// only what paylink cannot act on: a body that is not a JSON object with an event
// name, and a payment-intent event without an intent id. A status that is not a
// string is kept as its JSON text, for the caller to find not Valid.
// Fields paylink does not need never cause a refusal, so Dojo does not give up on a
// real payment over one: an unreadable createdAt is left zero (one without a time zone
// is taken as UTC, as Dojo documents its times), an accountId, captureMode or id that
// is not a string is kept as its JSON text, unknown fields are ignored, and the data
// of an event that is not about a payment intent is not read.
func DecodeEvent(body []byte) (Event, error) {
	var raw struct {
		ID        json.RawMessage `json:"id"`
		Event     string          `json:"event"`
		AccountID json.RawMessage `json:"accountId"`
		CreatedAt json.RawMessage `json:"createdAt"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return Event{}, fmt.Errorf("dojo event: %w", err)
	}
	if raw.Event == "" {
		return Event{}, errors.New("dojo event: no event name")
	}
	e := Event{ID: looseString(raw.ID), Event: raw.Event, AccountID: looseString(raw.AccountID), CreatedAt: eventTime(raw.CreatedAt)}
	if !strings.HasPrefix(e.Event, "payment_intent.") {
		return e, nil
	}
	var data struct {
		PaymentIntentID string          `json:"paymentIntentId"`
		PaymentStatus   json.RawMessage `json:"paymentStatus"`
		CaptureMode     json.RawMessage `json:"captureMode"`
	}
	if err := json.Unmarshal(raw.Data, &data); err != nil {
		return Event{}, fmt.Errorf("dojo event data: %w", err)
	}
	if data.PaymentIntentID == "" {
		return Event{}, errors.New("dojo event: no paymentIntentId")
	}
	e.Data = EventData{PaymentIntentID: data.PaymentIntentID, PaymentStatus: Status(looseString(data.PaymentStatus)), CaptureMode: looseString(data.CaptureMode)}
	return e, nil
}

// looseString reads a JSON string, or keeps any other JSON value as its text ("" for
// null or nothing).
func looseString(raw json.RawMessage) string {
	if s, ok := jsonString(raw); ok {
		return s
	}
	if t := strings.TrimSpace(string(raw)); t != "null" {
		return t
	}
	return ""
}

// jsonString reads raw, one value of a JSON document already parsed, as a string. A
// string with no escapes and valid UTF-8, as nearly all are, is taken as it stands,
// without a second decoder pass.
func jsonString(raw json.RawMessage) (string, bool) {
	if n := len(raw); n >= 2 && raw[0] == '"' && raw[n-1] == '"' &&
		bytes.IndexByte(raw[1:n-1], '\\') < 0 && bytes.IndexByte(raw[1:n-1], '"') < 0 && utf8.Valid(raw) {
		return string(raw[1 : n-1]), true
	}
	var s string
	return s, json.Unmarshal(raw, &s) == nil
}

// eventTime reads an event's createdAt: RFC 3339, or without a time zone (taken as
// UTC). Anything else is the zero time.
func eventTime(raw json.RawMessage) time.Time {
	s, ok := jsonString(raw)
	if !ok {
		return time.Time{}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
