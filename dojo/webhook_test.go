package dojo

import (
	"errors"
	"strings"
	"testing"
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
