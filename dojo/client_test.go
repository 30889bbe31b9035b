package dojo_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/dojo/dojotest"
)

const testKey = "sk_sandbox_client_test_key_123"

func newClient(srv *dojotest.Server, timeout time.Duration) *dojo.Client {
	return dojo.NewClient(dojo.Config{BaseURL: srv.URL, APIKey: testKey, Timeout: timeout})
}

func TestCreatePaymentIntentWireFormat(t *testing.T) {
	srv := dojotest.NewServer(t, dojotest.WithAPIKey(testKey))
	c := newClient(srv, time.Second)
	pi, err := c.CreatePaymentIntent(context.Background(), dojo.CreateRequest{
		Amount:        dojo.Money{Value: 1000, CurrencyCode: "GBP"},
		Reference:     "ref-123",
		Description:   "asked in #support",
		PaymentSource: "payment-links",
		Metadata:      map[string]string{"slackChannelId": "C1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(pi.ID, "pi_sandbox_") || pi.Status != dojo.StatusCreated || pi.Amount.Value != 1000 {
		t.Errorf("intent = %+v", pi)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != "POST" || r.Path != "/payment-intents" {
		t.Errorf("request %s %s", r.Method, r.Path)
	}
	for h, want := range map[string]string{"Authorization": "Basic " + testKey, "Version": "2026-02-27", "Content-Type": "application/json"} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("header %s = %q, want %q", h, got, want)
		}
	}
	var body map[string]any
	json.Unmarshal(r.Body, &body)
	want := `{"amount":{"currencyCode":"GBP","value":1000},"description":"asked in #support","metadata":{"slackChannelId":"C1"},"paymentSource":"payment-links","reference":"ref-123"}`
	if got, _ := json.Marshal(body); string(got) != want {
		t.Errorf("body %s\nwant %s", got, want)
	}
}

func TestCreateOmitsEmptyPaymentSource(t *testing.T) {
	srv := dojotest.NewServer(t, dojotest.WithAPIKey(testKey))
	c := newClient(srv, time.Second)
	if _, err := c.CreatePaymentIntent(context.Background(), dojo.CreateRequest{Amount: dojo.Money{Value: 1, CurrencyCode: "EUR"}, Reference: "r"}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(srv.Requests()[0].Body), "paymentSource") {
		t.Errorf("body %s carries paymentSource", srv.Requests()[0].Body)
	}
}

func TestErrorsDecodeProblemDetails(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		body        string
		wantMessage []string
		temporary   bool
	}{
		{"validation", 400, `{"errors":{"Reference":["The Reference field is required."]},"type":"https://tools.ietf.org/html/rfc7231#section-6.5.1","title":"One or more validation errors occurred.","status":400,"traceId":"00-a405f077df056a498323ffbcec05923f-aa63e6f4dbbc734a-01"}`,
			[]string{"One or more validation errors occurred.", "The Reference field is required.", "00-a405f077df056a498323ffbcec05923f-aa63e6f4dbbc734a-01"}, false},
		{"unauthorized", 401, `{"title":"Unauthorized","status":401,"traceId":"t1"}`, []string{"Unauthorized", "DOJO_API_KEY", "t1"}, false},
		{"problem details with detail", 500, `{"type":"about:blank","title":"Internal Server Error","status":500,"detail":"try later","instance":"/payment-intents"}`, []string{"Internal Server Error", "try later"}, true},
		{"not JSON", 502, `Bad gateway`, []string{"HTTP 502", "Bad gateway"}, true},
		{"HTML", 503, `<html>down</html>`, []string{"Service Unavailable"}, true},
		{"key echoed back", 400, `{"title":"Bad key ` + testKey + `","status":400}`, []string{"[redacted]"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := dojotest.NewServer(t, dojotest.WithAPIKey(testKey))
			srv.FailNext(1, tt.status, tt.body)
			_, err := newClient(srv, time.Second).CreatePaymentIntent(context.Background(), dojo.CreateRequest{Amount: dojo.Money{Value: 1, CurrencyCode: "GBP"}, Reference: "r"})
			var de *dojo.Error
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *dojo.Error", err)
			}
			if de.StatusCode != tt.status || de.Temporary() != tt.temporary {
				t.Errorf("status %d temporary %v", de.StatusCode, de.Temporary())
			}
			for _, w := range tt.wantMessage {
				if !strings.Contains(de.Message(), w) {
					t.Errorf("Message() %q lacks %q", de.Message(), w)
				}
			}
			if strings.Contains(de.Error()+de.Message(), testKey) {
				t.Errorf("the API key leaked: %s", de.Error())
			}
			if n := len(srv.Requests()); n != 1 {
				t.Errorf("create was sent %d times, want once (never retried)", n)
			}
		})
	}
}

// TestCreateTimeoutIsNotRetried: a create Dojo has not answered by the timeout ends
// with a timeout error, without waiting for Dojo's answer, and is not sent again.
func TestCreateTimeoutIsNotRetried(t *testing.T) {
	srv := dojotest.NewServer(t, dojotest.WithAPIKey(testKey))
	release := srv.Hold()
	defer release()
	start := time.Now()
	_, err := newClient(srv, 500*time.Millisecond).CreatePaymentIntent(context.Background(), dojo.CreateRequest{Amount: dojo.Money{Value: 1, CurrencyCode: "GBP"}, Reference: "r"})
	var de *dojo.Error
	if !errors.As(err, &de) || !de.Timeout || !de.Temporary() {
		t.Fatalf("error %v, want a timeout", err)
	}
	t.Logf("timed out after %v with a 500ms timeout", time.Since(start))
	if strings.Contains(de.Error(), testKey) {
		t.Errorf("key in %q", de.Error())
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("create was sent %d times, want 1", n)
	}
}

// TestGetRetriesTemporaryFailures: a GET that fails with 503 is sent again after
// 250 ms, then after 1 s, as the client's clock tells; no sooner.
func TestGetRetriesTemporaryFailures(t *testing.T) {
	srv := dojotest.NewServer(t, dojotest.WithAPIKey(testKey))
	clock := clockwork.NewFakeClock()
	c := dojo.NewClient(dojo.Config{BaseURL: srv.URL, APIKey: testKey, Timeout: time.Second, Clock: clock})
	pi, err := c.CreatePaymentIntent(context.Background(), dojo.CreateRequest{Amount: dojo.Money{Value: 1, CurrencyCode: "GBP"}, Reference: "r"})
	if err != nil {
		t.Fatal(err)
	}
	srv.FailNext(2, 503, `{"title":"Service Unavailable","status":503}`)
	type result struct {
		pi  *dojo.PaymentIntent
		err error
	}
	done := make(chan result, 1)
	go func() {
		got, err := c.PaymentIntent(context.Background(), pi.ID)
		done <- result{got, err}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i, backoff := range []time.Duration{250 * time.Millisecond, time.Second} {
		if err := clock.BlockUntilContext(ctx, 1); err != nil {
			t.Fatalf("the client is not waiting after failure %d: %v", i+1, err)
		}
		if n := len(srv.Requests()); n != 2+i {
			t.Fatalf("%d requests while waiting after failure %d, want %d", n, i+1, 2+i)
		}
		clock.Advance(backoff - time.Nanosecond)
		if n := len(srv.Requests()); n != 2+i {
			t.Fatalf("%d requests before the wait after failure %d was over, want %d", n, i+1, 2+i)
		}
		clock.Advance(time.Nanosecond)
	}
	r := <-done
	if r.err != nil || r.pi.ID != pi.ID {
		t.Fatalf("PaymentIntent after two 503s = %+v, %v", r.pi, r.err)
	}
	if n := len(srv.Requests()); n != 4 {
		t.Errorf("%d requests, want 1 create + 3 gets", n)
	}
	if _, err := c.PaymentIntent(context.Background(), "pi_unknown"); !dojo.IsNotFound(err) {
		t.Errorf("unknown intent: %v, want 404", err)
	}
}

// TestRetryWaitEndsWithContext: a retry's wait ends as soon as the caller's context
// does, with the last failure.
func TestRetryWaitEndsWithContext(t *testing.T) {
	srv := dojotest.NewServer(t, dojotest.WithAPIKey(testKey))
	clock := clockwork.NewFakeClock()
	c := dojo.NewClient(dojo.Config{BaseURL: srv.URL, APIKey: testKey, Timeout: time.Second, Clock: clock})
	srv.FailNext(5, 503, `{"title":"Service Unavailable","status":503}`)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.PaymentIntent(ctx, "pi_sandbox_any")
		done <- err
	}()
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if err := clock.BlockUntilContext(wctx, 1); err != nil {
		t.Fatalf("the client is not waiting after a 503: %v", err)
	}
	cancel()
	var de *dojo.Error
	if err := <-done; !errors.As(err, &de) || de.StatusCode != 503 {
		t.Errorf("error %v, want the 503", err)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestCancelAndGetCanceled(t *testing.T) {
	srv := dojotest.NewServer(t, dojotest.WithAPIKey(testKey))
	c := newClient(srv, time.Second)
	pi, _ := c.CreatePaymentIntent(context.Background(), dojo.CreateRequest{Amount: dojo.Money{Value: 1, CurrencyCode: "GBP"}, Reference: "r"})
	got, err := c.CancelPaymentIntent(context.Background(), pi.ID)
	if err != nil || got.Status != dojo.StatusCanceled {
		t.Fatalf("cancel = %+v, %v", got, err)
	}
	if got, err := c.PaymentIntent(context.Background(), pi.ID); err != nil || got.Status != dojo.StatusCanceled {
		t.Errorf("get canceled = %+v, %v", got, err)
	}
	_, err = c.CancelPaymentIntent(context.Background(), pi.ID)
	var de *dojo.Error
	if !errors.As(err, &de) || de.StatusCode != http.StatusBadRequest || !strings.Contains(de.Detail, "Canceled") {
		t.Errorf("second cancel = %v, want a 400 naming the status", err)
	}
}

func TestSearchAndRefund(t *testing.T) {
	srv := dojotest.NewServer(t, dojotest.WithAPIKey(testKey))
	c := newClient(srv, time.Second)
	var ids []string
	for range 3 {
		pi, _ := c.CreatePaymentIntent(context.Background(), dojo.CreateRequest{Amount: dojo.Money{Value: 500, CurrencyCode: "GBP"}, Reference: "r"})
		ids = append(ids, pi.ID)
	}
	srv.SetStatus(ids[1], dojo.StatusCaptured)
	res, err := c.SearchPaymentIntents(context.Background(), dojo.SearchRequest{Statuses: []dojo.Status{dojo.StatusCaptured}})
	if err != nil || len(res.Data) != 1 || res.Data[0].ID != ids[1] {
		t.Fatalf("search = %+v, %v", res, err)
	}
	r1, err := c.RefundPaymentIntent(context.Background(), ids[1], "key-1", dojo.RefundRequest{Amount: 200})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := c.RefundPaymentIntent(context.Background(), ids[1], "key-1", dojo.RefundRequest{Amount: 200})
	if err != nil || r2.RefundID != r1.RefundID {
		t.Errorf("refund with the same key twice: %v %v, want the same refund", r1, r2)
	}
	if pi, _ := srv.Intent(ids[1]); pi.RefundedAmount != 200 {
		t.Errorf("refunded %d, want 200 once", pi.RefundedAmount)
	}
	if _, err := c.RefundPaymentIntent(context.Background(), ids[1], "", dojo.RefundRequest{Amount: 1}); err == nil {
		t.Errorf("refund without an idempotency key was sent")
	}
}

func TestWrongKeyIsRefused(t *testing.T) {
	srv := dojotest.NewServer(t, dojotest.WithAPIKey(testKey))
	c := dojo.NewClient(dojo.Config{BaseURL: srv.URL, APIKey: "sk_sandbox_wrong_key_0000"})
	_, err := c.CreatePaymentIntent(context.Background(), dojo.CreateRequest{Amount: dojo.Money{Value: 1, CurrencyCode: "GBP"}, Reference: "r"})
	var de *dojo.Error
	if !errors.As(err, &de) || de.StatusCode != 401 {
		t.Fatalf("error %v, want 401", err)
	}
}

func TestIsSandboxKey(t *testing.T) {
	for key, want := range map[string]bool{"sk_sandbox_abc": true, "sk_prod_abc": false, "": false, "SK_SANDBOX_x": false} {
		if got := dojo.IsSandboxKey(key); got != want {
			t.Errorf("IsSandboxKey(%q) = %v", key, got)
		}
	}
}

func TestReverse(t *testing.T) {
	srv := dojotest.NewServer(t, dojotest.WithAPIKey(testKey))
	c := newClient(srv, time.Second)
	ctx := context.Background()
	newPaid := func() string {
		t.Helper()
		pi, err := c.CreatePaymentIntent(ctx, dojo.CreateRequest{Amount: dojo.Money{Value: 500, CurrencyCode: "GBP"}, Reference: "r"})
		if err != nil {
			t.Fatal(err)
		}
		srv.SetStatus(pi.ID, dojo.StatusCaptured)
		return pi.ID
	}
	today, yesterday, refunded := newPaid(), newPaid(), newPaid()
	srv.SetPaidAt(yesterday, time.Now().Add(-48*time.Hour))
	if _, err := c.RefundPaymentIntent(ctx, refunded, "k", dojo.RefundRequest{Amount: 100}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, id string
		status   int // 0: reversed
	}{
		{"paid today", today, 0},
		{"reversed already", today, 409},
		{"paid on another day", yesterday, 400},
		{"partly refunded", refunded, 409},
		{"unknown", "pi_sandbox_nope", 400},
	}
	for _, tt := range tests {
		r, err := c.ReversePaymentIntent(ctx, tt.id)
		var de *dojo.Error
		switch {
		case tt.status == 0 && (err != nil || r.ReversalID == ""):
			t.Errorf("%s: reverse = %+v, %v; want a reversal", tt.name, r, err)
		case tt.status != 0 && (!errors.As(err, &de) || de.StatusCode != tt.status):
			t.Errorf("%s: reverse = %+v, %v; want %d", tt.name, r, err, tt.status)
		}
	}
	if pi, _ := srv.Intent(today); pi.Status != dojo.StatusReversed {
		t.Errorf("status after reversal = %s", pi.Status)
	}
	for _, r := range srv.Requests() {
		if strings.HasSuffix(r.Path, "/reversal") && len(r.Body) != 0 {
			t.Errorf("reversal sent a body: %s", r.Body)
		}
	}
}
