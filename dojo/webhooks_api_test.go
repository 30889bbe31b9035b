package dojo_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/dojo/dojotest"
)

func TestSubscribeWireFormat(t *testing.T) {
	srv := dojotest.NewServer(t, dojotest.WithAPIKey(testKey))
	c := newClient(srv, time.Second)
	sub, err := c.Subscribe(context.Background(), dojo.SubscribeRequest{
		Events:      []string{dojo.EventStatusUpdated},
		URL:         "https://paylink.example.com/dojo/webhooks",
		Description: "paylink",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sub.ID, "ws_") || sub.URL != "https://paylink.example.com/dojo/webhooks" || len(sub.Events) != 1 || sub.Events[0] != dojo.EventStatusUpdated {
		t.Errorf("subscription = %+v", sub)
	}
	if got := dojo.ActiveSecrets(sub.Secrets); len(got) != 1 {
		t.Errorf("active secrets %d, want 1", len(got))
	}
	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != "POST" || r.Path != "/webhooks" {
		t.Errorf("request %s %s", r.Method, r.Path)
	}
	for h, want := range map[string]string{"Authorization": "Basic " + testKey, "Version": dojo.DefaultVersion, "Content-Type": "application/json"} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("header %s = %q, want %q", h, got, want)
		}
	}
	want := `{"events":["payment_intent.status_updated"],"url":"https://paylink.example.com/dojo/webhooks","description":"paylink"}`
	if string(r.Body) != want {
		t.Errorf("body %s\nwant %s", r.Body, want)
	}
	if subs := srv.Subscriptions(); len(subs) != 1 || subs[0].ID != sub.ID {
		t.Errorf("fake holds %+v", subs)
	}
}

func TestSubscribeRefusals(t *testing.T) {
	srv := dojotest.NewServer(t, dojotest.WithAPIKey(testKey))
	c := newClient(srv, time.Second)
	ctx := context.Background()
	tests := []struct {
		name   string
		req    dojo.SubscribeRequest
		status int
		field  string
	}{
		{"http URL", dojo.SubscribeRequest{Events: []string{dojo.EventStatusUpdated}, URL: "http://paylink.example.com/dojo/webhooks"}, 400, "Url"},
		{"no URL", dojo.SubscribeRequest{Events: []string{dojo.EventStatusUpdated}}, 400, "Url"},
		{"no events", dojo.SubscribeRequest{URL: "https://paylink.example.com/dojo/webhooks"}, 400, "Events"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Subscribe(ctx, tt.req)
			var de *dojo.Error
			if !errors.As(err, &de) || de.StatusCode != tt.status || len(de.Errors[tt.field]) == 0 {
				t.Fatalf("err = %v, want %d with an error on %s", err, tt.status, tt.field)
			}
		})
	}
	if n := len(srv.Subscriptions()); n != 0 {
		t.Errorf("%d subscriptions after refusals", n)
	}

	// One subscription per event.
	ok := dojo.SubscribeRequest{Events: []string{dojo.EventStatusUpdated}, URL: "https://paylink.example.com/dojo/webhooks"}
	if _, err := c.Subscribe(ctx, ok); err != nil {
		t.Fatal(err)
	}
	_, err := c.Subscribe(ctx, ok)
	var de *dojo.Error
	if !errors.As(err, &de) || de.StatusCode != http.StatusConflict {
		t.Errorf("second subscription: %v, want 409", err)
	}

	// A wrong key is refused, and the key never shows in the error.
	bad := dojo.NewClient(dojo.Config{BaseURL: srv.URL, APIKey: "sk_sandbox_wrong_key_000", Timeout: time.Second})
	_, err = bad.Subscribe(ctx, ok)
	if !errors.As(err, &de) || de.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong key: %v, want 401", err)
	}
	if strings.Contains(err.Error(), "sk_sandbox_wrong_key_000") {
		t.Errorf("error shows the key: %v", err)
	}
}

func TestWebhookSecrets(t *testing.T) {
	srv := dojotest.NewServer(t, dojotest.WithAPIKey(testKey), dojotest.WithoutWebhookSecretOnSubscribe())
	c := newClient(srv, time.Second)
	ctx := context.Background()
	sub, err := c.Subscribe(ctx, dojo.SubscribeRequest{Events: []string{dojo.EventStatusUpdated}, URL: "https://paylink.example.com/dojo/webhooks"})
	if err != nil {
		t.Fatal(err)
	}
	if len(sub.Secrets) != 0 {
		t.Fatalf("secrets on subscribe: %v", sub.Secrets)
	}
	list, err := c.WebhookSecrets(ctx, sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if list.ID != sub.ID || len(list.Secrets) != 0 {
		t.Errorf("secrets before generating: %+v", list)
	}

	first, err := c.GenerateWebhookSecret(ctx, sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Secrets) != 1 || !first.Secrets[0].IsActive || first.Secrets[0].Value == "" || !strings.HasPrefix(first.Secrets[0].ID, "sc_") {
		t.Fatalf("first generated: %+v", first)
	}
	// A second one waits to be activated, as in a rotation.
	second, err := c.GenerateWebhookSecret(ctx, sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(second.Secrets) != 2 || second.Secrets[1].IsActive {
		t.Fatalf("second generated: %+v", second)
	}
	if err := c.ActivateWebhookSecret(ctx, sub.ID, second.Secrets[1].ID); err != nil {
		t.Fatal(err)
	}
	list, err = c.WebhookSecrets(ctx, sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := dojo.ActiveSecrets(list.Secrets); len(got) != 2 || got[0] != first.Secrets[0].Value || got[1] != second.Secrets[1].Value {
		t.Errorf("active after activation: %d secrets", len(got))
	}

	var methods []string
	for _, r := range srv.Requests() {
		methods = append(methods, r.Method+" "+r.Path)
	}
	want := []string{
		"POST /webhooks",
		"GET /webhooks/" + sub.ID + "/secrets",
		"POST /webhooks/" + sub.ID + "/secrets",
		"POST /webhooks/" + sub.ID + "/secrets",
		"PUT /webhooks/" + sub.ID + "/secrets/" + second.Secrets[1].ID + "/activate",
		"GET /webhooks/" + sub.ID + "/secrets",
	}
	if fmt.Sprint(methods) != fmt.Sprint(want) {
		t.Errorf("requests\n%v\nwant\n%v", methods, want)
	}

	if _, err := c.WebhookSecrets(ctx, "ws_unknown"); !dojo.IsNotFound(err) {
		t.Errorf("unknown subscription: %v, want 404", err)
	}
	if _, err := c.GenerateWebhookSecret(ctx, "ws_unknown"); !dojo.IsNotFound(err) {
		t.Errorf("generate for unknown subscription: %v, want 404", err)
	}
}

// Dojo's own examples (OpenAPI 2026-02-27) decode, times without a zone included.
func TestWebhookAPIExamplesDecode(t *testing.T) {
	const subscription = `{"id":"ws_aNkU6yob0vOMxUlghg2oynUw","accountId":"acc_4z3k2xP17e1JQY",
	 "events":["payment_intent.created","payment_intent.status_updated"],
	 "url":"https://example.com.com/incoming-events","description":"Demo Webhooks",
	 "secrets":[{"id":"sc_qNkU6yob0vOMxUlb2oynUw","value":"U3Vic2NyaXB0aW9uUmVzcG9uc2VFeGFtcGxlIDogSUV4YW1wbGVQcm92aWRlcjxTdWJ",
	             "createdAt":"2023-12-13T14:15:01","lastUsedAt":"2023-12-16T13:44:03.3242202Z","isActive":true}],
	 "createdAt":"2023-03-30T12:21:04.143Z","updatedAt":"2023-03-30T12:21:04.143Z"}`
	const generated = `{"secrets":[
	 {"id":"sc_qNkU6yob0vOMxUlb2oynUw","value":"U3Vic2NyaXB0aW9uUmVzcG9uc2VFeGFtcGxlIDogSUV4YW1wbGVQcm92aWRlcjxTdWJ","createdAt":"2023-12-13T14:15:01","lastUsedAt":"2023-12-16T13:44:03.3683851Z","isActive":true},
	 {"id":"sc_zNkU6yob0vOMxUlb2oynUw","value":"FGswesdsaXB0aW9uUmVzcG9wbGVQcm92aWRlcjxTdWJ","createdAt":"2023-12-13T14:15:01","lastUsedAt":"2023-12-02T13:58:03.3683861Z","isActive":false}]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/webhooks" {
			fmt.Fprint(w, subscription)
		} else {
			fmt.Fprint(w, generated)
		}
	}))
	defer srv.Close()
	c := dojo.NewClient(dojo.Config{BaseURL: srv.URL, APIKey: testKey, Timeout: time.Second})
	sub, err := c.Subscribe(context.Background(), dojo.SubscribeRequest{Events: []string{dojo.EventStatusUpdated}, URL: "https://example.com.com/incoming-events"})
	if err != nil {
		t.Fatal(err)
	}
	if sub.ID != "ws_aNkU6yob0vOMxUlghg2oynUw" || len(sub.Secrets) != 1 || sub.Secrets[0].CreatedAt != "2023-12-13T14:15:01" {
		t.Errorf("subscription = %+v", sub)
	}
	res, err := c.GenerateWebhookSecret(context.Background(), sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := dojo.ActiveSecrets(res.Secrets); len(got) != 1 || got[0] != "U3Vic2NyaXB0aW9uUmVzcG9uc2VFeGFtcGxlIDogSUV4YW1wbGVQcm92aWRlcjxTdWJ" {
		t.Errorf("active secrets = %v", got)
	}
}

func TestSubscriptionSecretStringHidesValue(t *testing.T) {
	s := dojo.SubscriptionSecret{ID: "sc_1", Value: "ws_very_secret_value", IsActive: true}
	sub := dojo.Subscription{ID: "ws_1", Secrets: []dojo.SubscriptionSecret{s}}
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v", sub), fmt.Sprintf("%+v", sub)} {
		if strings.Contains(out, s.Value) {
			t.Errorf("printed the secret: %s", out)
		}
	}
	b, _ := json.Marshal(s)
	if !strings.Contains(string(b), s.Value) {
		t.Errorf("JSON lost the value: %s", b)
	}
}

// TestSigningSecrets: a subscription that came back without a secret gets one
// generated, and the value SigningSecrets returns is the active one Dojo lists.
func TestSigningSecrets(t *testing.T) {
	srv := dojotest.NewServer(t, dojotest.WithAPIKey(testKey), dojotest.WithoutWebhookSecretOnSubscribe())
	c := newClient(srv, time.Second)
	ctx := context.Background()
	sub, err := c.Subscribe(ctx, dojo.SubscribeRequest{Events: []string{dojo.EventStatusUpdated}, URL: "https://paylink.example.com/dojo/webhooks"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.SigningSecrets(ctx, sub)
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.WebhookSecrets(ctx, sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := dojo.ActiveSecrets(list.Secrets); len(got) != 1 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("SigningSecrets = %d secrets, want the %d active", len(got), len(want))
	}
	var step *dojo.SecretStepError
	if _, err := c.SigningSecrets(ctx, &dojo.Subscription{ID: "ws_unknown"}); !errors.As(err, &step) || step.Step != "listing its secrets" || !dojo.IsNotFound(err) {
		t.Errorf("unknown subscription: %v, want a failed listing step", err)
	}
}
