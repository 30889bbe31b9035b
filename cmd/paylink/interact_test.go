package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/paylink/paylink/bot"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/dojo/dojotest"
)

// sendInteraction signs a payload as Slack does and POSTs it to /slack/interactions.
func (h *harness) sendInteraction(payload any) (*http.Response, string) {
	h.t.Helper()
	b, err := json.Marshal(payload)
	if err != nil {
		h.t.Fatal(err)
	}
	body := url.Values{"payload": {string(b)}}.Encode()
	ts, sig := bot.SignSlackRequest(testSigningSecret, time.Now(), []byte(body))
	req, _ := http.NewRequest(http.MethodPost, h.url+bot.PathInteractions, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", sig)
	resp, text, _ := h.do(req)
	return resp, text
}

type obj = map[string]any

// buttonPress is a block_actions payload as Slack sends it when user presses a button
// on the message at ts in channel.
func (h *harness) buttonPress(user, channel, ts, actionID, value, responseName string) obj {
	return obj{
		"type":         "block_actions",
		"user":         obj{"id": user, "username": "someone", "name": "someone", "team_id": "T0001"},
		"api_app_id":   "A123456",
		"token":        "deprecated",
		"container":    obj{"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": false},
		"trigger_id":   "1234.5678.abcd",
		"team":         obj{"id": "T0001", "domain": "example"},
		"channel":      obj{"id": channel, "name": "support"},
		"message":      obj{"type": "message", "ts": ts, "text": "link"},
		"response_url": h.slack.ResponseURL(responseName),
		"actions": []obj{{
			"action_id": actionID, "block_id": "link_actions", "value": value, "type": "button",
			"text": obj{"type": "plain_text", "text": actionID}, "action_ts": "1700000000.000100",
		}},
	}
}

func lastResponse(t *testing.T, h *harness, name string) string {
	t.Helper()
	waitFor(t, "a response_url message on "+name, func() bool { return len(h.slack.Responses(name)) > 0 })
	r := h.slack.Responses(name)
	return r[len(r)-1].Text
}

func lastUpdate(t *testing.T, h *harness, ts, want string) string {
	t.Helper()
	var blocks string
	waitFor(t, "the card to show "+want, func() bool {
		for _, u := range h.slack.Calls("chat.update") {
			if u.TS == ts && strings.Contains(string(u.Blocks), want) {
				blocks = string(u.Blocks)
				return true
			}
		}
		return false
	})
	return blocks
}

func TestCancelButton(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, fastNotify)
	id, ts := h.makeLink("10.00 GBP cancel-1")

	h.sendInteraction(h.buttonPress("U_STRANGER", "C2147483705", ts, "cancel_link", id, "stranger"))
	if text := lastResponse(t, h, "stranger"); !strings.Contains(text, "Only <@U2147483697>") {
		t.Errorf("stranger was told %q", text)
	}
	if pi, _ := h.dojo.Intent(id); pi.Status != dojo.StatusCreated {
		t.Fatalf("a stranger's cancel reached Dojo: %s", pi.Status)
	}

	h.sendInteraction(h.buttonPress("U2147483697", "C2147483705", ts, "cancel_link", id, "owner"))
	if text := lastResponse(t, h, "owner"); !strings.Contains(text, "Canceled the £10.00 link") {
		t.Errorf("requester was told %q", text)
	}
	if pi, _ := h.dojo.Intent(id); pi.Status != dojo.StatusCanceled {
		t.Errorf("intent at Dojo is %s, want Canceled", pi.Status)
	}
	blocks := lastUpdate(t, h, ts, "Canceled")
	if strings.Contains(blocks, "cancel_link") || strings.Contains(blocks, "open_checkout") || !strings.Contains(blocks, "new_link") {
		t.Errorf("canceled card %s: want no Cancel or Open checkout, and New link", blocks)
	}
	waitNotices(t, h.slack, "Canceled:", 1, 5*time.Second)

	// New link: the same amount and reference, a fresh intent.
	h.sendInteraction(h.buttonPress("U2147483697", "C2147483705", ts, "new_link", id, "again"))
	waitFor(t, "a second intent", func() bool { return len(h.dojo.Created()) == 2 })
	second := h.dojo.Created()[1]
	if second.Amount.Value != 1000 || second.Reference != "cancel-1" {
		t.Errorf("new link = %+v", second)
	}
	h.slack.WaitCalls(t, "chat.postMessage", 3, 5*time.Second)
}

// TestCancelRefused: Dojo refuses to cancel a link it no longer holds open (400, per
// its spec): the agent is told it can't be cancelled and why, in Dojo's words, and the
// card is brought up to Dojo's status.
func TestCancelRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		status  dojo.Status // at Dojo, unknown to paylink
		button  bool
		card    string
		summary string // in the answer
	}{
		{"paid, by the button", dojo.StatusCaptured, true, "Paid", "Paid"},
		{"canceled in Dojo, by the command", dojo.StatusCanceled, false, "Canceled", "Canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := redisTargets(t)[0]
			h := startPaylink(t, r, merge(fastNotify, env{"DOJO_WEBHOOK_SECRET": ""}))
			id, ts := h.makeLink("10 GBP refused-1")
			h.dojo.SetStatus(id, tt.status)
			var text string
			if tt.button {
				h.sendInteraction(h.buttonPress("U2147483697", "C2147483705", ts, "cancel_link", id, "c"))
				text = lastResponse(t, h, "c")
			} else {
				_, body, _ := h.sendCommand(h.commandForm("cancel refused-1", "c"))
				text = ephemeralText(t, h.answer(body, "c"))
			}
			for _, want := range []string{"can't be cancelled", "status " + string(tt.status), tt.summary} {
				if !strings.Contains(text, want) {
					t.Errorf("answer %q lacks %q", text, want)
				}
			}
			if strings.Contains(text, "HTTP 400") {
				t.Errorf("answer %q shows a raw HTTP error", text)
			}
			lastUpdate(t, h, ts, tt.card)
			if pi, _ := h.dojo.Intent(id); pi.Status != tt.status {
				t.Errorf("intent at Dojo is %s, want %s", pi.Status, tt.status)
			}
		})
	}
}

func TestAdminMayCancel(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, merge(fastNotify, env{"PAYLINK_ADMINS": "U_ADMIN"}))
	id, ts := h.makeLink("10 GBP admin-cancel")
	h.sendInteraction(h.buttonPress("U_ADMIN", "C2147483705", ts, "cancel_link", id, "admin"))
	if text := lastResponse(t, h, "admin"); !strings.Contains(text, "Canceled") {
		t.Errorf("admin was told %q", text)
	}
}

func TestRefreshButton(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, merge(fastNotify, env{"DOJO_WEBHOOK_SECRET": ""}))
	id, ts := h.makeLink("10 GBP refresh-1")
	// The press is acknowledged while Dojo has not answered: Slack's 3 s do not depend
	// on Dojo.
	release := h.dojo.Hold()
	if resp, body := h.sendInteraction(h.buttonPress("U2147483697", "C2147483705", ts, "refresh_status", id, "r1")); resp.StatusCode != http.StatusOK {
		t.Fatalf("press with Dojo not answering: %d %s", resp.StatusCode, body)
	}
	if n := len(h.slack.Responses("r1")); n != 0 {
		t.Errorf("%d answers before Dojo answered", n)
	}
	release()
	if text := lastResponse(t, h, "r1"); !strings.Contains(text, "Open") {
		t.Errorf("refresh of an open link said %q", text)
	}
	h.dojo.SetStatus(id, dojo.StatusCaptured)
	h.sendInteraction(h.buttonPress("U2147483697", "C2147483705", ts, "refresh_status", id, "r2"))
	if text := lastResponse(t, h, "r2"); !strings.Contains(text, "Paid") {
		t.Errorf("refresh of a paid link said %q", text)
	}
	blocks := lastUpdate(t, h, ts, "Paid")
	if strings.Contains(blocks, "refresh_status") || strings.Contains(blocks, "cancel_link") {
		t.Errorf("paid card still has buttons: %s", blocks)
	}
	waitNotices(t, h.slack, "Paid:", 1, 5*time.Second)
	time.Sleep(300 * time.Millisecond)
	if n := len(notices(h.slack, "Paid:")); n != 1 {
		t.Errorf("%d Paid notices, want 1", n)
	}
}

// formSubmission is a view_submission payload for the form.
func formSubmission(meta, amount, currency, reference, expiry string) obj {
	sel := func(v string) any {
		if v == "" {
			return nil
		}
		return obj{"text": obj{"type": "plain_text", "text": v}, "value": v}
	}
	return obj{
		"type":       "view_submission",
		"team":       obj{"id": "T0001", "domain": "example"},
		"user":       obj{"id": "U2147483697", "username": "steve", "name": "steve", "team_id": "T0001"},
		"api_app_id": "A123456",
		"token":      "deprecated",
		"trigger_id": "1234.5678.efgh",
		"view": obj{
			"id": "V0001", "team_id": "T0001", "type": "modal", "callback_id": "paylink_create",
			"private_metadata": meta, "hash": "1700000000.abcd",
			"state": obj{"values": obj{
				"amount":      obj{"amount": obj{"type": "plain_text_input", "value": amount}},
				"currency":    obj{"currency": obj{"type": "static_select", "selected_option": sel(currency)}},
				"reference":   obj{"reference": obj{"type": "plain_text_input", "value": reference}},
				"description": obj{"description": obj{"type": "plain_text_input", "value": nil}},
				"expiry":      obj{"expiry": obj{"type": "static_select", "selected_option": sel(expiry)}},
			}},
		},
	}
}

func TestForm(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, fastNotify)
	resp, body, _ := h.sendCommand(h.commandForm("", "form"))
	if resp.StatusCode != 200 || strings.TrimSpace(body) != "" {
		t.Errorf("/paylink alone answered %d %q, want an empty 200", resp.StatusCode, body)
	}
	opens := h.slack.WaitCalls(t, "views.open", 1, 2*time.Second)
	if opens[0].Params.Get("trigger_id") != "13345224609.738474920.8088930838d88f008e0" {
		t.Errorf("views.open trigger_id = %q", opens[0].Params.Get("trigger_id"))
	}
	var view struct {
		CallbackID      string `json:"callback_id"`
		PrivateMetadata string `json:"private_metadata"`
	}
	json.Unmarshal([]byte(opens[0].Params.Get("view")), &view)
	if view.CallbackID != "paylink_create" || view.PrivateMetadata == "" {
		t.Fatalf("view = %+v", view)
	}

	_, errs := h.sendInteraction(formSubmission(view.PrivateMetadata, "12.345", "EUR", "", ""))
	var answer struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
	}
	json.Unmarshal([]byte(errs), &answer)
	if answer.ResponseAction != "errors" || !strings.Contains(answer.Errors["amount"], "decimal") || answer.Errors["reference"] == "" {
		t.Errorf("bad submission answered %s", errs)
	}
	_, errs = h.sendInteraction(formSubmission(view.PrivateMetadata, "20000", "GBP", "big", ""))
	json.Unmarshal([]byte(errs), &answer)
	if !strings.Contains(answer.Errors["amount"], "£10,000.00") {
		t.Errorf("over-limit submission answered %s", errs)
	}
	if n := len(h.dojo.Requests()); n != 0 {
		t.Fatalf("rejected submissions reached Dojo %d times", n)
	}

	resp, body = h.sendInteraction(formSubmission(view.PrivateMetadata, "€12.50", "EUR", "Order <77> & co", "24h"))
	if resp.StatusCode != 200 || strings.TrimSpace(body) != "" {
		t.Errorf("good submission answered %d %q, want an empty 200 (closes the form)", resp.StatusCode, body)
	}
	post := h.slack.WaitCalls(t, "chat.postMessage", 1, 5*time.Second)[0]
	if post.Channel != "C2147483705" || !strings.Contains(post.Text, "€12.50") || !strings.Contains(post.Text, "Order &lt;77&gt; &amp; co") {
		t.Errorf("form link message = %+v", post)
	}
	created := h.dojo.Created()[0]
	if created.Reference != "Order <77> & co" || created.ExpireAt == nil {
		t.Fatalf("intent = %+v", created)
	}
	if d := time.Until(*created.ExpireAt); d < 23*time.Hour || d > 25*time.Hour {
		t.Errorf("expireAt in %v, want 24h", d)
	}
	if !strings.Contains(string(post.Blocks), "Expires") {
		t.Errorf("card does not show the expiry")
	}
}

func TestDuplicateReferenceGuard(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, fastNotify)
	first, _ := h.makeLink("10 GBP INV-9")
	_, body, _ := h.sendCommand(h.commandForm("25 GBP inv-9", "dup"))
	body = h.answer(body, "dup")
	var msg struct {
		Text   string            `json:"text"`
		Blocks []json.RawMessage `json:"blocks"`
	}
	json.Unmarshal([]byte(body), &msg)
	if !strings.Contains(msg.Text, "still open") || !strings.Contains(msg.Text, first) {
		t.Errorf("duplicate answer %q", msg.Text)
	}
	if len(h.dojo.Created()) != 1 {
		t.Fatalf("a second intent was created for an open reference")
	}
	var value string
	for _, b := range msg.Blocks {
		var blk struct {
			Elements []struct {
				ActionID string `json:"action_id"`
				Value    string `json:"value"`
			} `json:"elements"`
		}
		json.Unmarshal(b, &blk)
		for _, e := range blk.Elements {
			if e.ActionID == "create_anyway" {
				value = e.Value
			}
		}
	}
	if value == "" {
		t.Fatalf("no Create another anyway button in %s", body)
	}
	press := h.buttonPress("U2147483697", "C2147483705", "", "create_anyway", value, "anyway")
	press["container"] = obj{"type": "message", "message_ts": "1.2", "channel_id": "C2147483705", "is_ephemeral": true}
	h.sendInteraction(press)
	waitFor(t, "the second intent", func() bool { return len(h.dojo.Created()) == 2 })
	if c := h.dojo.Created()[1]; c.Amount.Value != 2500 || c.Reference != "inv-9" {
		t.Errorf("second intent = %+v", c)
	}
	// Once the first is paid, the same reference no longer counts as open.
	h.dojo.SetStatus(first, dojo.StatusCaptured)
	h.sendWebhook(dojotest.Event(first, dojo.StatusCaptured))
	waitNotices(t, h.slack, "Paid", 1, 5*time.Second)
}

func TestListAndStatus(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, fastNotify)
	a, _ := h.makeLink("10 GBP list-a")
	h.makeLink("20 EUR list-b")
	h.dojo.SetStatus(a, dojo.StatusCaptured)

	_, body, _ := h.sendCommand(h.commandForm("list", "l"))
	text := ephemeralText(t, body)
	if !strings.Contains(text, "list-a") || !strings.Contains(text, "list-b") || strings.Index(text, "list-b") > strings.Index(text, "list-a") {
		t.Errorf("list = %q, want both, newest first", text)
	}
	_, body, _ = h.sendCommand(h.commandForm("status LIST-A", "s"))
	if text := ephemeralText(t, h.answer(body, "s")); !strings.Contains(text, "Paid") || !strings.Contains(text, "£10.00") {
		t.Errorf("status = %q, want Paid from Dojo", text)
	}
	_, body, _ = h.sendCommand(h.commandForm("status "+a, "s2"))
	if text := ephemeralText(t, h.answer(body, "s2")); !strings.Contains(text, "list-a") {
		t.Errorf("status by intent id = %q", text)
	}
	_, body, _ = h.sendCommand(h.commandForm("status nothing-like-it", "s3"))
	if text := ephemeralText(t, h.answer(body, "s3")); !strings.Contains(text, "No payment link") {
		t.Errorf("status of an unknown reference = %q", text)
	}
	_, body, _ = h.sendCommand(h.commandForm("cancel list-b", "c"))
	if text := ephemeralText(t, h.answer(body, "c")); !strings.Contains(text, "Canceled the €20.00 link") {
		t.Errorf("cancel = %q", text)
	}
}

func TestExpiredLink(t *testing.T) {
	t.Parallel()
	mr := miniredis.RunT(t)
	h := startPaylink(t, miniTarget(t, mr), merge(fastNotify, env{"PAYLINK_RECONCILE_INTERVAL": "300ms"}))
	id, ts := h.makeLink("10 GBP expiring --expires 15m")
	h.dojo.SetExpireAt(id, time.Now().Add(-time.Minute))
	whileReconciling(t, mr, "the Expired notice", func() bool { return len(notices(h.slack, "Expired:")) >= 1 })
	blocks := lastUpdate(t, h, ts, "Expired")
	if !strings.Contains(blocks, "new_link") || strings.Contains(blocks, "open_checkout") {
		t.Errorf("expired card %s: want New link and no checkout", blocks)
	}
}
