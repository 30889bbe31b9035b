package dojotest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/dojo/dojotest"
)

const key = "sk_sandbox_dojotest_key"

// call sends one request to the fake as a Dojo client would, and returns the answer.
func call(t *testing.T, srv *dojotest.Server, method, path, body string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, srv.URL+path, rd)
	req.Header.Set("Authorization", "Basic "+key)
	req.Header.Set("version", dojo.DefaultVersion)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// TestFakeRefusesWhatTheSpecRefuses: the fake is as strict as Dojo's spec, and no
// kinder: what the spec's schemas refuse is refused with 400, and what they allow is
// allowed.
func TestFakeRefusesWhatTheSpecRefuses(t *testing.T) {
	create := func(extra string) string {
		return `{"amount":{"value":1000,"currencyCode":"GBP"},"reference":"ref-1"` + extra + `}`
	}
	tests := []struct {
		name, method, path, body string
		want                     int
	}{
		{"create", "POST", "/payment-intents", create(""), 200},
		{"create with paymentSource (the payment-links guide asks for it)", "POST", "/payment-intents", create(`,"paymentSource":"payment-links"`), 200},
		{"create with an unknown field", "POST", "/payment-intents", create(`,"slackChannel":"C1"`), 400},
		{"create with a misspelt field", "POST", "/payment-intents", create(`,"descripton":"x"`), 400},
		{"create with a description of 4096", "POST", "/payment-intents", create(`,"description":"` + strings.Repeat("d", 4096) + `"`), 200},
		{"create with a description of 4097", "POST", "/payment-intents", create(`,"description":"` + strings.Repeat("d", 4097) + `"`), 400},
		{"create with a reference of 61", "POST", "/payment-intents", `{"amount":{"value":1000,"currencyCode":"GBP"},"reference":"` + strings.Repeat("r", 61) + `"}`, 400},
		{"create with metadata not strings", "POST", "/payment-intents", create(`,"metadata":{"n":1}`), 400},
		{"create with an amount not an integer", "POST", "/payment-intents", `{"amount":{"value":10.5,"currencyCode":"GBP"},"reference":"r"}`, 400},
		{"create with an unknown amount field", "POST", "/payment-intents", `{"amount":{"value":1000,"currencyCode":"GBP","minor":true},"reference":"r"}`, 400},
		{"search", "POST", "/payment-intents/search", `{"statuses":["Created"],"cursor":{"limit":100}}`, 200},
		{"search with an unknown field", "POST", "/payment-intents/search", `{"status":"Created"}`, 400},
		{"search with a limit of 101", "POST", "/payment-intents/search", `{"cursor":{"limit":101}}`, 400},
		{"search with an unknown status", "POST", "/payment-intents/search", `{"statuses":["Paid"]}`, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := dojotest.NewServer(t, dojotest.WithAPIKey(key))
			status, hdr, body := call(t, srv, tt.method, tt.path, tt.body)
			if status != tt.want {
				t.Errorf("%s %s = %d %s, want %d", tt.method, tt.path, status, body, tt.want)
			}
			if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q, want application/json (the spec's, for answers and errors)", ct)
			}
		})
	}
}

// TestFakeAnswersAsDojoDoes: an intent comes back with the fields Dojo's example
// answers carry, paylink reads them or not; a cancel Dojo refuses is a 400, never a
// 409 (the spec lists 200, 400, 401, 404).
func TestFakeAnswersAsDojoDoes(t *testing.T) {
	srv := dojotest.NewServer(t, dojotest.WithAPIKey(key))
	status, _, body := call(t, srv, "POST", "/payment-intents", `{"amount":{"value":1000,"currencyCode":"GBP"},"reference":"ref-1","paymentSource":"payment-links"}`)
	if status != 200 {
		t.Fatalf("create = %d %s", status, body)
	}
	var created map[string]json.RawMessage
	json.Unmarshal(body, &created)
	var id string
	json.Unmarshal(created["id"], &id)
	srv.SetStatus(id, dojo.StatusCaptured)
	_, _, body = call(t, srv, "GET", "/payment-intents/"+id, "")
	var got map[string]json.RawMessage
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("GET answer %s: %v", body, err)
	}
	for _, f := range []string{"paymentEvents", "config", "merchantConfig", "refundedAmount", "totalAmount", "paymentLink", "paymentSource", "expireAt"} {
		if _, ok := got[f]; !ok {
			t.Errorf("GET answer lacks %s: %s", f, body)
		}
	}
	if !bytes.Contains(got["paymentEvents"], []byte(`"eventType":"Captured"`)) {
		t.Errorf("paymentEvents = %s, want the Captured event", got["paymentEvents"])
	}
	if string(got["paymentSource"]) != `"payment-links"` {
		t.Errorf("paymentSource = %s", got["paymentSource"])
	}
	status, hdr, body := call(t, srv, "DELETE", "/payment-intents/"+id, "")
	if status != http.StatusBadRequest || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
		t.Errorf("cancel of a paid intent = %d %s %s, want 400 application/json", status, hdr.Get("Content-Type"), body)
	}
}

// recorder is a testing.TB that keeps what the fake reports instead of failing.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// TestFakeChecksItsOwnAnswers: an answer of the fake's that breaks the spec fails the
// test that received it.
func TestFakeChecksItsOwnAnswers(t *testing.T) {
	rec := &recorder{TB: t}
	srv := dojotest.NewServer(rec, dojotest.WithAPIKey(key))
	srv.AddIntent(dojo.PaymentIntent{ID: "pi_sandbox_bad", Status: "Paid", Amount: dojo.Money{Value: 1, CurrencyCode: "GBP"}, Reference: "r"})
	call(t, srv, "GET", "/payment-intents/pi_sandbox_bad", "")
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.errs) != 1 || !strings.Contains(rec.errs[0], "breaks Dojo's spec") || !strings.Contains(rec.errs[0], "Paid") {
		t.Errorf("reported %q, want one report of the status Paid", rec.errs)
	}
}
