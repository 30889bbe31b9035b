package dojo

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// Dojo's documented webhook vector (reference/dojo-api.md §5).
const (
	docWebhookSecret = "ws_OYsyzcrH70GpJfs8MMkKpg"
	docWebhookBody   = `{"id":"evt_hnnHxIKR_Uy6bhZCusCltw","event":"payment_intent.created","accountId":"acc_test","createdAt":"2022-02-01T13:07:41.8667859Z","data":{"paymentIntentId":"pi_vpwd4ooAPEqyNAQe4z89WQ","paymentStatus":"Created","captureMode":"Auto"}}`
	docWebhookSig    = "sha256=94-AC-93-67-D6-8B-69-6D-15-A2-C2-45-40-98-B5-E7-64-72-38-C5-1F-6D-32-D0-5F-CB-91-20-A9-20-64-F4"
)

func TestSignWebhookDocumentedVector(t *testing.T) {
	if got := SignWebhook(docWebhookSecret, []byte(docWebhookBody)); got != docWebhookSig {
		t.Errorf("SignWebhook = %s\nwant %s", got, docWebhookSig)
	}
}

func TestVerifySignature(t *testing.T) {
	body := []byte(docWebhookBody)
	changed := strings.Replace(docWebhookSig, "94-AC", "94-AD", 1)
	tests := []struct {
		name    string
		header  string
		body    []byte
		secrets []string
		ok      bool
	}{
		{"documented vector", docWebhookSig, body, []string{docWebhookSecret}, true},
		{"lower case", strings.ToLower(docWebhookSig), body, []string{docWebhookSecret}, true},
		{"no dashes", strings.ReplaceAll(docWebhookSig, "-", ""), body, []string{docWebhookSecret}, true},
		{"SHA256 scheme in capitals", "SHA256=" + docWebhookSig[7:], body, []string{docWebhookSecret}, true},
		{"second of two secrets (rotation)", docWebhookSig, body, []string{"ws_new", docWebhookSecret}, true},
		{"one byte changed", changed, body, []string{docWebhookSecret}, false},
		{"body changed", docWebhookSig, append([]byte(docWebhookBody), ' '), []string{docWebhookSecret}, false},
		{"wrong secret", docWebhookSig, body, []string{"ws_other"}, false},
		{"no secrets", docWebhookSig, body, nil, false},
		{"empty secret", docWebhookSig, body, []string{""}, false},
		{"empty header", "", body, []string{docWebhookSecret}, false},
		{"no scheme", docWebhookSig[7:], body, []string{docWebhookSecret}, false},
		{"md5 scheme", "md5=" + docWebhookSig[7:], body, []string{docWebhookSecret}, false},
		{"truncated", docWebhookSig[:len(docWebhookSig)-3], body, []string{docWebhookSecret}, false},
		{"too long", docWebhookSig + "-00", body, []string{docWebhookSecret}, false},
		{"not hex", "sha256=" + strings.Repeat("ZZ-", 31) + "ZZ", body, []string{docWebhookSecret}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifySignature(tt.header, tt.body, tt.secrets)
			if tt.ok != (err == nil) {
				t.Fatalf("VerifySignature = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrSignature) {
				t.Errorf("error %v is not ErrSignature", err)
			}
		})
	}
}

func TestDecodeEvent(t *testing.T) {
	e, err := DecodeEvent([]byte(docWebhookBody))
	if err != nil {
		t.Fatal(err)
	}
	if e.ID != "evt_hnnHxIKR_Uy6bhZCusCltw" || e.Event != EventCreated || e.Data.PaymentIntentID != "pi_vpwd4ooAPEqyNAQe4z89WQ" ||
		e.Data.PaymentStatus != StatusCreated || e.CreatedAt.IsZero() {
		t.Errorf("event = %+v", e)
	}
	for _, bad := range []string{``, `[]`, `{`, `{"id":"e"}`, `{"event":"payment_intent.status_updated","data":{}}`, `"x"`} {
		if _, err := DecodeEvent([]byte(bad)); err == nil {
			t.Errorf("DecodeEvent(%q) accepted", bad)
		}
	}
}

// TestDecodeEventToleratesFieldsItDoesNotNeed: an event is never refused over a field
// paylink does not use (createdAt, accountId, captureMode, unknown fields, the data of
// an event it ignores), so Dojo never gives up on a real payment over one.
func TestDecodeEventToleratesFieldsItDoesNotNeed(t *testing.T) {
	const data = `"data":{"paymentIntentId":"pi_1","paymentStatus":"Captured","captureMode":"Auto"}`
	tests := []struct {
		name    string
		body    string
		created time.Time // zero: unreadable, left zero
	}{
		{"createdAt without a time zone", `{"id":"evt_1","event":"payment_intent.status_updated","createdAt":"2026-11-30T10:00:00.123",` + data + `}`,
			time.Date(2026, 11, 30, 10, 0, 0, 123e6, time.UTC)},
		{"createdAt without a zone or fraction", `{"id":"evt_1","event":"payment_intent.status_updated","createdAt":"2026-11-30T10:00:00",` + data + `}`,
			time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)},
		{"createdAt with 7 digits and an offset", `{"id":"evt_1","event":"payment_intent.status_updated","createdAt":"2026-11-30T11:00:00.1234567+01:00",` + data + `}`,
			time.Date(2026, 11, 30, 10, 0, 0, 123456700, time.UTC)},
		{"createdAt unreadable", `{"id":"evt_1","event":"payment_intent.status_updated","createdAt":"yesterday",` + data + `}`, time.Time{}},
		{"createdAt a number", `{"id":"evt_1","event":"payment_intent.status_updated","createdAt":1764496800,` + data + `}`, time.Time{}},
		{"createdAt null", `{"id":"evt_1","event":"payment_intent.status_updated","createdAt":null,` + data + `}`, time.Time{}},
		{"no createdAt", `{"id":"evt_1","event":"payment_intent.status_updated",` + data + `}`, time.Time{}},
		{"accountId a number", `{"id":"evt_1","event":"payment_intent.status_updated","accountId":42,` + data + `}`, time.Time{}},
		{"captureMode an object", `{"id":"evt_1","event":"payment_intent.status_updated","data":{"paymentIntentId":"pi_1","paymentStatus":"Captured","captureMode":{"x":1}}}`, time.Time{}},
		{"unknown fields", `{"id":"evt_1","event":"payment_intent.status_updated","extra":[1,{"a":null}],"data":{"paymentIntentId":"pi_1","paymentStatus":"Captured","more":true}}`, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := DecodeEvent([]byte(tt.body))
			if err != nil {
				t.Fatalf("DecodeEvent(%s) = %v, want it accepted", tt.body, err)
			}
			if e.Event != EventStatusUpdated || e.ID != "evt_1" || e.Data.PaymentIntentID != "pi_1" || e.Data.PaymentStatus != StatusCaptured {
				t.Errorf("DecodeEvent(%s) = %+v", tt.body, e)
			}
			if !e.CreatedAt.Equal(tt.created) {
				t.Errorf("createdAt = %v, want %v", e.CreatedAt, tt.created)
			}
		})
	}
	// An event paylink ignores is not refused over its data either.
	if e, err := DecodeEvent([]byte(`{"id":"evt_2","event":"order.created","data":[1,2]}`)); err != nil || e.Event != "order.created" {
		t.Errorf("an order event with array data = %+v, %v", e, err)
	}
}

// FuzzVerifySignature: only the MAC of the exact body passes, and nothing panics.
func FuzzVerifySignature(f *testing.F) {
	f.Add(docWebhookSig, []byte(docWebhookBody))
	f.Add("sha256=", []byte{})
	f.Add("sha256=----", []byte("{}"))
	f.Add(strings.ToLower(docWebhookSig), []byte(docWebhookBody))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		err := VerifySignature(header, body, []string{docWebhookSecret})
		if err == nil {
			want := strings.ReplaceAll(SignWebhook(docWebhookSecret, body)[7:], "-", "")
			got := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(header)[7:], "-", ""))
			if got != want {
				t.Fatalf("accepted %q for %q", header, body)
			}
		}
	})
}

// FuzzDecodeEvent: decoding never panics, and what it accepts has an event name.
func FuzzDecodeEvent(f *testing.F) {
	f.Add([]byte(docWebhookBody))
	f.Add([]byte(`{"id":"evt_1","event":"payment_intent.status_updated","accountId":"acc","createdAt":"2026-11-30T10:00:00.123","data":{"paymentIntentId":"pi_1","paymentStatus":"Captured","captureMode":"Auto"}}`))
	f.Add([]byte(`{"id":7,"event":"payment_intent.status_updated","accountId":null,"createdAt":1,"data":{"paymentIntentId":"pi_1","paymentStatus":3,"captureMode":{}}}`))
	f.Add([]byte(`{"event":"x"}`))
	f.Add([]byte(`{"event":"payment_intent.status_updated","data":{"paymentIntentId":"pi_1","paymentStatus":"Captured"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := DecodeEvent(body)
		if err == nil && e.Event == "" {
			t.Fatalf("accepted an event without a name: %q", body)
		}
	})
}

func BenchmarkVerifySignature(b *testing.B) {
	body := []byte(docWebhookBody)
	secrets := []string{"ws_old", docWebhookSecret}
	b.ReportAllocs()
	for b.Loop() {
		if err := VerifySignature(docWebhookSig, body, secrets); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeEvent(b *testing.B) {
	body := []byte(docWebhookBody)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeEvent(body); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzDecodeEventSpareFields: whatever Dojo puts in the fields paylink does not need
// (createdAt, accountId, captureMode, id), an event is accepted with the ones it does
// need intact.
func FuzzDecodeEventSpareFields(f *testing.F) {
	f.Add(`"2026-11-30T10:00:00.123"`, `"acc_test"`, `"Auto"`, `"evt_1"`)
	f.Add(`"2026-11-30T10:00:00"`, `42`, `null`, `7`)
	f.Add(`"2022-02-01T13:07:41.8667859Z"`, `{"a":[1]}`, `["Auto"]`, `null`)
	f.Add(`1764496800`, `true`, `"Manual"`, `"evt_\u0041"`)
	f.Add(`"yesterday"`, `"acc"`, `{}`, `""`)
	f.Fuzz(func(t *testing.T, createdAt, accountID, captureMode, id string) {
		value := func(s string) string {
			if json.Valid([]byte(s)) {
				return s
			}
			b, _ := json.Marshal(s)
			return string(b)
		}
		body := `{"id":` + value(id) + `,"event":"payment_intent.status_updated","accountId":` + value(accountID) +
			`,"createdAt":` + value(createdAt) + `,"data":{"paymentIntentId":"pi_1","paymentStatus":"Captured","captureMode":` + value(captureMode) + `}}`
		e, err := DecodeEvent([]byte(body))
		if err != nil {
			t.Fatalf("DecodeEvent(%s) = %v, want it accepted", body, err)
		}
		if e.Event != EventStatusUpdated || e.Data.PaymentIntentID != "pi_1" || e.Data.PaymentStatus != StatusCaptured {
			t.Fatalf("DecodeEvent(%s) = %+v", body, e)
		}
	})
}
