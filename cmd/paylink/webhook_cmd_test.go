package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paylink/paylink/bot"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/dojo/dojotest"
)

const registerURL = "https://paylink.example.com/dojo/webhooks"

// runCLI runs paylink with args and returns its output and error.
func runCLI(t *testing.T, e env, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), append([]string{"paylink"}, args...), e.lookup, &out, &out)
	return out.String(), err
}

// registerEnv is all webhook register needs: no Slack settings.
func registerEnv(d *dojotest.Server) env {
	return env{"DOJO_API_KEY": checkDojoKey, "DOJO_API_URL": d.URL}
}

func TestWebhookRegister(t *testing.T) {
	t.Parallel()
	d := dojotest.NewServer(t, dojotest.WithAPIKey(checkDojoKey))
	out, err := runCLI(t, registerEnv(d), "webhook", "register", "--url", registerURL, "--description", "paylink test")
	if err != nil {
		t.Fatalf("register: %v\n%s", err, out)
	}
	subs := d.Subscriptions()
	if len(subs) != 1 {
		t.Fatalf("%d subscriptions, want 1", len(subs))
	}
	sub := subs[0]
	if sub.URL != registerURL || len(sub.Events) != 1 || sub.Events[0] != dojo.EventStatusUpdated || sub.Description != "paylink test" {
		t.Errorf("subscription = %+v", sub)
	}
	secret := sub.Secrets[0].Value
	for _, want := range []string{
		"Subscribed " + registerURL + " to payment_intent.status_updated.\n",
		"Subscription: " + sub.ID + ", sandbox account\n",
		"\nDOJO_WEBHOOK_SECRET=" + secret + "\n",
		"comma-separated (DOJO_WEBHOOK_SECRET=old,new)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, checkDojoKey) {
		t.Errorf("output shows the API key:\n%s", out)
	}
	reqs := d.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1 (the secret comes with the subscription)", len(reqs))
	}
	want := `{"events":["payment_intent.status_updated"],"url":"` + registerURL + `","description":"paylink test"}`
	if reqs[0].Method != "POST" || reqs[0].Path != "/webhooks" || string(reqs[0].Body) != want {
		t.Errorf("request %s %s %s\nwant body %s", reqs[0].Method, reqs[0].Path, reqs[0].Body, want)
	}
	if got := reqs[0].Header.Get("Authorization"); got != "Basic "+checkDojoKey {
		t.Errorf("Authorization = %q", got)
	}

	// The printed line configures a paylink that accepts Dojo's signatures.
	body := dojotest.Event("pi_sandbox_x", dojo.StatusCaptured)
	if err := dojo.VerifySignature(dojo.SignWebhook(secret, body), body, []string{secret}); err != nil {
		t.Error(err)
	}
}

func TestWebhookRegisterGeneratesSecret(t *testing.T) {
	t.Parallel()
	d := dojotest.NewServer(t, dojotest.WithAPIKey(checkDojoKey), dojotest.WithoutWebhookSecretOnSubscribe())
	out, err := runCLI(t, registerEnv(d), "webhook", "register", "--url", registerURL)
	if err != nil {
		t.Fatalf("register: %v\n%s", err, out)
	}
	subs := d.Subscriptions()
	if len(subs) != 1 || len(subs[0].Secrets) != 1 || !subs[0].Secrets[0].IsActive {
		t.Fatalf("subscriptions = %+v", subs)
	}
	if !strings.Contains(out, "\nDOJO_WEBHOOK_SECRET="+subs[0].Secrets[0].Value+"\n") {
		t.Errorf("output lacks the generated secret:\n%s", out)
	}
	var calls []string
	for _, r := range d.Requests() {
		calls = append(calls, r.Method+" "+r.Path)
	}
	id := subs[0].ID
	want := []string{"POST /webhooks", "GET /webhooks/" + id + "/secrets", "POST /webhooks/" + id + "/secrets"}
	if strings.Join(calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(calls, "\n"), strings.Join(want, "\n"))
	}
	if d.Requests()[0].Body == nil || !strings.Contains(string(d.Requests()[0].Body), `"description":"paylink"`) {
		t.Errorf("default description missing: %s", d.Requests()[0].Body)
	}
}

func TestWebhookRegisterRefusals(t *testing.T) {
	t.Parallel()
	d := dojotest.NewServer(t, dojotest.WithAPIKey(checkDojoKey))
	good := registerEnv(d)
	tests := []struct {
		name    string
		env     env
		args    []string
		wantErr string
		wantOut string
	}{
		{"no --url", good, nil, "--url is required", "usage: paylink webhook register"},
		{"http URL", good, []string{"--url", "http://paylink.example.com/dojo/webhooks"}, "--url must be https", "usage: paylink webhook register"},
		{"not a URL", good, []string{"--url", "paylink.example.com/dojo/webhooks"}, "not an absolute https:// URL", ""},
		{"unknown flag", good, []string{"--url", registerURL, "--events", "x"}, "flag provided but not defined", "usage: paylink webhook register"},
		{"stray argument", good, []string{"--url", registerURL, "now"}, `unexpected argument "now"`, "usage: paylink webhook register"},
		{"no API key", env{"DOJO_API_URL": d.URL}, []string{"--url", registerURL}, "DOJO_API_KEY is not set", ""},
		{"wrong API key", env{"DOJO_API_URL": d.URL, "DOJO_API_KEY": wrongDojoKey}, []string{"--url", registerURL}, "Dojo refused DOJO_API_KEY (HTTP 401)", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runCLI(t, tt.env, append([]string{"webhook", "register"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q\n%s", err, tt.wantErr, out)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("output lacks %q:\n%s", tt.wantOut, out)
			}
			if strings.Contains(out+err.Error(), wrongDojoKey) {
				t.Errorf("the key is shown: %v\n%s", err, out)
			}
		})
	}
	if n := len(d.Subscriptions()); n != 0 {
		t.Fatalf("%d subscriptions after refusals", n)
	}
	for _, r := range d.Requests() {
		if r.Header.Get("Authorization") == "Basic "+checkDojoKey {
			t.Errorf("a refused registration reached Dojo: %s %s", r.Method, r.Path)
		}
	}

	// Dojo allows one subscription per event: the second is explained.
	if out, err := runCLI(t, good, "webhook", "register", "--url", registerURL); err != nil {
		t.Fatalf("first register: %v\n%s", err, out)
	}
	out, err := runCLI(t, good, "webhook", "register", "--url", "https://other.example.com/dojo/webhooks")
	if err == nil || !strings.Contains(err.Error(), "already has a webhook subscription for payment_intent.status_updated") {
		t.Errorf("second register: %v\n%s", err, out)
	}
}

func TestWebhookRegisterNotes(t *testing.T) {
	t.Parallel()
	d := dojotest.NewServer(t, dojotest.WithAPIKey(checkDojoKey))
	out, err := runCLI(t, registerEnv(d), "webhook", "register", "--url", "https://127.0.0.1:8443/hooks")
	if err != nil {
		t.Fatalf("register: %v\n%s", err, out)
	}
	for _, want := range []string{`this URL's path is "/hooks"`, "127.0.0.1 is not reachable from the internet"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// webhookReceiver is a stand-in for paylink's webhook endpoint that checks what it
// receives the way paylink does.
type webhookReceiver struct {
	*httptest.Server
	status int

	mu     sync.Mutex
	header []string
	bodies [][]byte
}

func newWebhookReceiver(t *testing.T, status int) *webhookReceiver {
	r := &webhookReceiver{status: status}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.header = append(r.header, req.Header.Get("Dojo-Signature"))
		r.bodies = append(r.bodies, b)
		r.mu.Unlock()
		if req.Method != http.MethodPost || req.URL.Path != bot.PathDojoWebhooks || req.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		w.WriteHeader(r.status)
		io.WriteString(w, "nope")
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *webhookReceiver) received() ([]string, [][]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.header...), append([][]byte(nil), r.bodies...)
}

func TestWebhookSend(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		env        env
		args       []string
		wantSecret string
		wantStatus dojo.Status
	}{
		{"--secret", nil, []string{"--secret", "ws_flag_secret"}, "ws_flag_secret", dojo.StatusCaptured},
		{"first of DOJO_WEBHOOK_SECRET", env{"DOJO_WEBHOOK_SECRET": " ws_new_secret , ws_old_secret"}, nil, "ws_new_secret", dojo.StatusCaptured},
		{"--secret wins", env{"DOJO_WEBHOOK_SECRET": "ws_env_secret"}, []string{"--secret", "ws_flag_secret"}, "ws_flag_secret", dojo.StatusCaptured},
		{"--status in any case", env{"DOJO_WEBHOOK_SECRET": "ws_env_secret"}, []string{"--status", "refunded"}, "ws_env_secret", dojo.StatusRefunded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recv := newWebhookReceiver(t, http.StatusOK)
			args := append([]string{"webhook", "send", "--url", recv.URL + bot.PathDojoWebhooks, "--intent", "pi_sandbox_abc123"}, tt.args...)
			before := time.Now().UTC()
			out, err := runCLI(t, tt.env, args...)
			if err != nil {
				t.Fatalf("send: %v\n%s", err, out)
			}
			headers, bodies := recv.received()
			if len(bodies) != 1 {
				t.Fatalf("%d deliveries, want 1", len(bodies))
			}
			if err := dojo.VerifySignature(headers[0], bodies[0], []string{tt.wantSecret}); err != nil {
				t.Fatalf("signature %q does not verify with %s: %v", headers[0], tt.wantSecret, err)
			}
			if !strings.HasPrefix(headers[0], "sha256=") || len(headers[0]) != len("sha256=")+32*3-1 {
				t.Errorf("signature %q is not in Dojo's format", headers[0])
			}
			ev, err := dojo.DecodeEvent(bodies[0])
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(ev.ID, "evt_") || len(ev.ID) != len("evt_")+22 || ev.Event != dojo.EventStatusUpdated || ev.AccountID != "acc_test" ||
				ev.Data.PaymentIntentID != "pi_sandbox_abc123" || ev.Data.PaymentStatus != tt.wantStatus || ev.Data.CaptureMode != "Auto" {
				t.Errorf("event = %+v", ev)
			}
			if ev.CreatedAt.Location() != time.UTC || ev.CreatedAt.Before(before.Add(-time.Second)) || ev.CreatedAt.After(time.Now().Add(time.Second)) {
				t.Errorf("createdAt = %v", ev.CreatedAt)
			}
			if !strings.Contains(string(bodies[0]), `"createdAt":"`+ev.CreatedAt.Format(time.RFC3339Nano)+`"`) || !strings.HasSuffix(ev.CreatedAt.Format(time.RFC3339Nano), "Z") {
				t.Errorf("createdAt not ISO 8601 UTC: %s", bodies[0])
			}
			if !strings.Contains(out, "Sent "+ev.ID) || !strings.Contains(out, "HTTP 200 OK") {
				t.Errorf("output: %s", out)
			}
			if strings.Contains(out, tt.wantSecret) {
				t.Errorf("output shows the secret: %s", out)
			}
		})
	}
}

func TestWebhookSendFailures(t *testing.T) {
	t.Parallel()
	refused := newWebhookReceiver(t, http.StatusUnauthorized)
	out, err := runCLI(t, nil, "webhook", "send", "--url", refused.URL+bot.PathDojoWebhooks, "--intent", "pi_1", "--secret", "ws_s")
	if err == nil || !strings.Contains(err.Error(), "HTTP 401 Unauthorized: nope") || !strings.Contains(err.Error(), "does not match") || !strings.Contains(out, "HTTP 401") {
		t.Errorf("401: %v\n%s", err, out)
	}

	recv := newWebhookReceiver(t, http.StatusOK)
	target := recv.URL + bot.PathDojoWebhooks
	tests := []struct {
		name    string
		env     env
		args    []string
		wantErr string
	}{
		{"bad status", nil, []string{"--url", target, "--intent", "pi_1", "--secret", "s", "--status", "Paid"}, `--status "Paid" is not one of Created, Authorized, Captured, Reversed, Refunded, Canceled`},
		{"no intent", nil, []string{"--url", target, "--secret", "s"}, "--intent is required"},
		{"no url", nil, []string{"--intent", "pi_1", "--secret", "s"}, "--url is required"},
		{"bad url", nil, []string{"--url", "localhost:8080/dojo/webhooks", "--intent", "pi_1", "--secret", "s"}, "is not an absolute http:// or https:// URL"},
		{"no secret", env{"DOJO_WEBHOOK_SECRET": " , "}, []string{"--url", target, "--intent", "pi_1"}, "pass --secret or set DOJO_WEBHOOK_SECRET"},
		{"unknown flag", nil, []string{"--url", target, "--intent", "pi_1", "--secret", "s", "--event", "x"}, "flag provided but not defined: -event"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runCLI(t, tt.env, append([]string{"webhook", "send"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
			if !strings.Contains(out, "usage: paylink webhook send") {
				t.Errorf("no usage:\n%s", out)
			}
		})
	}
	if _, bodies := recv.received(); len(bodies) != 0 {
		t.Errorf("%d events sent by refused commands", len(bodies))
	}
}

func TestWebhookUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"webhook"}, {"webhook", "rotate"}} {
		out, err := runCLI(t, nil, args...)
		if err == nil || !strings.Contains(out, "paylink webhook register --url") || !strings.Contains(out, "paylink webhook send --url") {
			t.Errorf("%v: err %v\n%s", args, err, out)
		}
	}
	for _, args := range [][]string{{"webhook", "help"}, {"webhook", "register", "-h"}, {"webhook", "send", "--help"}} {
		if out, err := runCLI(t, nil, args...); err != nil || !strings.Contains(out, "usage:") {
			t.Errorf("%v: err %v\n%s", args, err, out)
		}
	}
}

// The event webhook send builds is one paylink accepts and reports as paid.
func TestWebhookSendToPaylink(t *testing.T) {
	t.Parallel()
	h := startPaylink(t, redisTargets(t)[0], fastNotify)
	id, _ := h.makeLink("12.50 GBP send-1")
	h.dojo.SetStatus(id, dojo.StatusCaptured)
	out, err := runCLI(t, env{"DOJO_WEBHOOK_SECRET": testWebhookSecret + ",ws_other"}, "webhook", "send", "--url", h.url+bot.PathDojoWebhooks, "--intent", id)
	if err != nil {
		t.Fatalf("send: %v\n%s", err, out)
	}
	waitNotices(t, h.slack, "Paid", 1, 5*time.Second)
}

// TestWebhookSendOutcome: webhook send says what paylink did with the event, and fails
// when paylink ignored it.
func TestWebhookSendOutcome(t *testing.T) {
	t.Parallel()
	h := startPaylink(t, redisTargets(t)[0], fastNotify)
	paid, _ := h.makeLink("12.50 GBP outcome-1")
	h.dojo.SetStatus(paid, dojo.StatusCaptured)
	open, _ := h.makeLink("13.50 GBP outcome-2")
	tests := []struct {
		name, intent, status string
		wantErr              bool
		want                 string
	}{
		{"a payment", paid, "Captured", false, `queued its notice; "Paid" appears only if Dojo itself reports ` + paid + " Captured"},
		{"the same again", paid, "Captured", false, "had already recorded Captured"},
		{"a Captured Dojo does not confirm", open, "Captured", false, `"Paid" appears only if Dojo itself reports ` + open + " Captured"},
		{"an intent paylink did not create", "pi_sandbox_notours0000000000000", "Captured", true, "paylink ignored the event: pi_sandbox_notours0000000000000 is not a link paylink created"},
		{"a status with no notice", open, "Authorized", false, "paylink recorded the status; it posts no notice for Authorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runCLI(t, env{"DOJO_WEBHOOK_SECRET": testWebhookSecret}, "webhook", "send", "--url", h.url+bot.PathDojoWebhooks, "--intent", tt.intent, "--status", tt.status)
			if (err != nil) != tt.wantErr {
				t.Errorf("error %v, want error: %v\n%s", err, tt.wantErr, out)
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("printed:\n%s\nwant it to contain %q", out, tt.want)
			}
		})
	}
	waitNotices(t, h.slack, "Paid", 1, 5*time.Second)
}

func TestSendOutcomeText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		outcome string
		status  dojo.Status
		wantErr bool
		want    string
	}{
		{"queued", dojo.StatusCaptured, false, `"Paid" appears only if Dojo itself reports pi_1 Captured`},
		{"queued", dojo.StatusCanceled, false, "only once Dojo confirms the status"},
		{"recorded", dojo.StatusAuthorized, false, "no notice for Authorized"},
		{"duplicate", dojo.StatusCaptured, false, "no second notice"},
		{"not_ours", dojo.StatusCaptured, true, "not a link paylink created"},
		{"ignored", dojo.StatusCaptured, true, "not a status update paylink can use"},
		{"", dojo.StatusCaptured, false, "did not say what it did"},
	}
	for _, tt := range tests {
		t.Run(tt.outcome+"/"+string(tt.status), func(t *testing.T) {
			text, err := sendOutcome(tt.outcome, "pi_1", tt.status)
			if (err != nil) != tt.wantErr || !strings.Contains(text, tt.want) {
				t.Errorf("sendOutcome = %q, %v; want %q, error %v", text, err, tt.want, tt.wantErr)
			}
		})
	}
}
