package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paylink/paylink/bot"
	"github.com/paylink/paylink/bot/fakeslack"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/dojo/dojotest"
)

// TestEventsAPI sends Slack's Events API requests to a running paylink: a signed
// url_verification gets its challenge, an unsigned event 401, and app_home_opened
// publishes the user's Home tab with their open link.
func TestEventsAPI(t *testing.T) {
	t.Parallel()
	for _, r := range redisTargets(t) {
		t.Run(r.name, func(t *testing.T) {
			h := startPaylink(t, r, merge(fastNotify, env{"PAYLINK_ADMINS": "U2147483697"}))
			id, _ := h.makeLink("12.34 GBP home-ref")

			resp, body, _ := h.do(h.signedRequest(bot.PathEvents, "application/json",
				[]byte(`{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV","type":"url_verification"}`)))
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"challenge":"3eZbrw1aBm2rZgRNFdxV"`) {
				t.Errorf("url_verification: %d %q, want 200 with the challenge", resp.StatusCode, body)
			}

			home := `{"type":"event_callback","team_id":"T0001","api_app_id":"A123456","event_id":"Ev1","event":{"type":"app_home_opened","user":"U2147483697","channel":"D1","tab":"home"}}`
			req, _ := http.NewRequest(http.MethodPost, h.url+bot.PathEvents, strings.NewReader(home))
			req.Header.Set("Content-Type", "application/json")
			if resp, _, _ := h.do(req); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("unsigned event: %d, want 401", resp.StatusCode)
			}
			if n := len(h.slack.Calls("views.publish")); n != 0 {
				t.Fatalf("an unsigned event published %d views", n)
			}

			if resp, body, _ := h.do(h.signedRequest(bot.PathEvents, "application/json", []byte(home))); resp.StatusCode != http.StatusOK {
				t.Fatalf("app_home_opened: %d %q", resp.StatusCode, body)
			}
			var view string
			waitFor(t, "views.publish", func() bool {
				for _, c := range h.slack.Calls("views.publish") {
					if c.Failed == "" && c.Params.Get("user_id") == "U2147483697" {
						view = c.Params.Get("view")
						return true
					}
				}
				return false
			})
			for _, want := range []string{`"type":"home"`, id, "home-ref", "refresh_status", "cancel_link", "Workspace", "1 for £12.34"} {
				if !strings.Contains(view, want) {
					t.Errorf("Home tab lacks %q:\n%s", want, view)
				}
			}
		})
	}
}

// TestAppUninstalledHoldsNotices: once Slack says the workspace uninstalled paylink, a
// payment's notice is held with an error in the log, not posted; once paylink is back
// in the workspace (Slack sends its events again), the "Paid" is posted.
func TestAppUninstalledHoldsNotices(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, merge(fastNotify, env{"PAYLINK_NOTIFY_RETRY_MAX": "500ms"}))
	id, _ := h.makeLink("5.00 GBP gone-ref")
	gone := `{"type":"event_callback","team_id":"T0001","event_id":"Ev9","event":{"type":"app_uninstalled"}}`
	if resp, body, _ := h.do(h.signedRequest(bot.PathEvents, "application/json", []byte(gone))); resp.StatusCode != http.StatusOK {
		t.Fatalf("app_uninstalled: %d %q", resp.StatusCode, body)
	}
	h.dojo.SetStatus(id, dojo.StatusCaptured)
	if code := h.sendWebhook(dojotest.Event(id, dojo.StatusCaptured)); code != http.StatusOK {
		t.Fatalf("webhook: %d", code)
	}
	waitFor(t, "the notice to be held", func() bool {
		return strings.Contains(h.out.String(), "notice held: the workspace uninstalled paylink")
	})
	if n := notices(h.slack, "Paid"); len(n) != 0 {
		t.Errorf("%d Paid notices posted to a workspace that uninstalled paylink", len(n))
	}
	if !strings.Contains(h.out.String(), `"level":"error"`) {
		t.Errorf("the uninstall was not logged as an error")
	}
	back := `{"type":"event_callback","team_id":"T0001","event_id":"Ev10","event":{"type":"app_home_opened","user":"U2147483697","tab":"home"}}`
	if resp, body, _ := h.do(h.signedRequest(bot.PathEvents, "application/json", []byte(back))); resp.StatusCode != http.StatusOK {
		t.Fatalf("app_home_opened: %d %q", resp.StatusCode, body)
	}
	waitFor(t, "the held Paid to be posted once paylink is back", func() bool { return len(notices(h.slack, "Paid")) == 1 })
}

// TestEventsOverSocketMode: app_home_opened over Socket Mode is acknowledged and
// publishes the Home tab, as over HTTP.
func TestEventsOverSocketMode(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	s := fakeslack.New(t, fakeslack.WithToken(testBotToken), fakeslack.WithAppToken("xapp-1-test"))
	startPaylinkWith(t, r, merge(fastNotify, env{"SLACK_APP_TOKEN": "xapp-1-test"}),
		dojotest.NewServer(t, dojotest.WithAPIKey(testDojoKey)), s)
	id := s.SocketSend(t, "events_api", map[string]any{"type": "event_callback", "team_id": "T0001", "event_id": "Ev5",
		"event": map[string]any{"type": "app_home_opened", "user": "U2147483697", "tab": "home"}})
	s.SocketAck(t, id, ackWait)
	call := s.WaitCalls(t, "views.publish", 1, 15*time.Second)[0]
	if call.Params.Get("user_id") != "U2147483697" || !strings.Contains(call.Params.Get("view"), "You have no open links") {
		t.Errorf("views.publish %v, want the user's empty Home tab", call.Params)
	}
}
