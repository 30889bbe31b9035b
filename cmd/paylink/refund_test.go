package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/dojo/dojotest"
)

// refundSubmission is a view_submission of the refund form with view id view.
func refundSubmission(user, view, meta, amount, reason string) obj {
	return obj{
		"type":       "view_submission",
		"team":       obj{"id": "T0001", "domain": "example"},
		"user":       obj{"id": user, "username": "rita", "name": "rita", "team_id": "T0001"},
		"api_app_id": "A123456",
		"token":      "deprecated",
		"trigger_id": "1234.5678.ijkl",
		"view": obj{
			"id": view, "team_id": "T0001", "type": "modal", "callback_id": "paylink_refund",
			"private_metadata": meta, "hash": "1700000000.efgh",
			"state": obj{"values": obj{
				"refund_how":    obj{"refund_how": obj{"type": "radio_buttons", "selected_option": obj{"value": "refund"}}},
				"refund_amount": obj{"refund_amount": obj{"type": "plain_text_input", "value": amount}},
				"refund_reason": obj{"refund_reason": obj{"type": "plain_text_input", "value": reason}},
			}},
		},
	}
}

// paid has the customer pay id and waits for "Paid" and the card's Refund button.
func (h *harness) paid(id, ts string) {
	h.t.Helper()
	h.dojo.SetStatus(id, dojo.StatusCaptured)
	if code := h.sendWebhook(dojotest.Event(id, dojo.StatusCaptured)); code != http.StatusOK {
		h.t.Fatalf("webhook: %d", code)
	}
	lastUpdate(h.t, h, ts, "refund_payment")
}

// notified waits until every queued notice of the link was handled.
func (h *harness) notified(id string, status dojo.Status) {
	h.t.Helper()
	ctx := context.Background()
	waitFor(h.t, "the "+string(status)+" notice handled", func() bool {
		return h.redis.rdb.HExists(ctx, h.redis.prefix+"{events}:status:"+id, string(status)).Val() &&
			h.redis.rdb.XLen(ctx, h.redis.prefix+"{events}:notify").Val() == 0 &&
			h.redis.rdb.ZCard(ctx, h.redis.prefix+"{events}:retry").Val() == 0
	})
}

// TestRefundFromTheCard: paid → Refund → the form → submitted twice → one refund at
// Dojo, the card updated, one reply in the thread, one audit event, and Dojo's own
// Refunded webhook announces nothing more.
func TestRefundFromTheCard(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, merge(fastNotify, env{"PAYLINK_REFUNDERS": "U_REFUNDER"}))
	id, ts := h.makeLink("10.00 GBP refund-1")
	h.paid(id, ts)

	// Someone who may not: told so, audited, nothing opened.
	h.sendInteraction(h.buttonPress("U_STRANGER", "C2147483705", ts, "refund_payment", id, "stranger"))
	if text := lastResponse(t, h, "stranger"); !strings.Contains(text, "PAYLINK_REFUNDERS") {
		t.Errorf("stranger was told %q", text)
	}
	waitFor(t, "the refusal audited", func() bool { return strings.Contains(h.out.String(), `"detail":"refund by someone who may not"`) })

	h.sendInteraction(h.buttonPress("U_REFUNDER", "C2147483705", ts, "refund_payment", id, "refunder"))
	opens := h.slack.WaitCalls(t, "views.open", 1, 5*time.Second)
	var view struct {
		CallbackID      string `json:"callback_id"`
		PrivateMetadata string `json:"private_metadata"`
	}
	raw := opens[0].Params.Get("view")
	json.Unmarshal([]byte(raw), &view)
	if view.CallbackID != "paylink_refund" || !strings.Contains(raw, `"initial_value":"10.00"`) || !strings.Contains(raw, "refund_how") {
		t.Fatalf("refund form = %s", raw)
	}

	for amount, want := range map[string]string{"4.001": "decimal", "10.01": "At most £10.00", "0": "valid amount"} {
		_, body := h.sendInteraction(refundSubmission("U_REFUNDER", "V0042", view.PrivateMetadata, amount, ""))
		if !strings.Contains(body, `"response_action":"errors"`) || !strings.Contains(body, want) {
			t.Errorf("amount %q answered %s, want an error on the field with %q", amount, body, want)
		}
	}
	if n := refundCalls(h, id); n != 0 {
		t.Fatalf("bad submissions reached Dojo %d times", n)
	}

	for i := range 2 {
		// Submitted twice: Slack sends each with its own trigger id (and signature).
		sub := refundSubmission("U_REFUNDER", "V0042", view.PrivateMetadata, "4.00", "mug <!channel> broken")
		sub["trigger_id"] = fmt.Sprintf("1234.5678.%d", i)
		resp, body := h.sendInteraction(sub)
		if resp.StatusCode != 200 || strings.TrimSpace(body) != "" {
			t.Errorf("submission answered %d %q, want an empty 200", resp.StatusCode, body)
		}
	}
	waitFor(t, "both submissions answered", func() bool { return len(h.slack.Responses("refunder")) >= 2 })
	if n := refundCalls(h, id); n != 1 {
		t.Errorf("%d refunds asked of Dojo, want 1", n)
	}
	if pi, _ := h.dojo.Intent(id); pi.RefundedAmount != 400 {
		t.Errorf("Dojo refunded %d, want 400", pi.RefundedAmount)
	}
	replies := waitNotices(t, h.slack, "Refunded £4.00 of £10.00", 1, 5*time.Second)
	if replies[0].ThreadTS != ts || !strings.Contains(replies[0].Text, "<@U_REFUNDER>") || !strings.Contains(replies[0].Text, "&lt;!channel&gt;") {
		t.Errorf("thread reply %+v", replies[0])
	}
	blocks := lastUpdate(t, h, ts, "Refunded £4.00 of £10.00")
	if !strings.Contains(blocks, "refund_payment") || !strings.Contains(blocks, "£6.00 left to refund") {
		t.Errorf("card after a part refund: %s", blocks)
	}

	// Dojo's webhook for the refund is a duplicate; the notice the refund queued
	// posts nothing more.
	h.sendWebhook(dojotest.Event(id, dojo.StatusRefunded))
	h.notified(id, dojo.StatusRefunded)
	if n := len(notices(h.slack, "Refunded")); n != 1 {
		t.Errorf("%d Refunded messages, want the refund's one reply", n)
	}
	if n := strings.Count(h.out.String(), `"audit":{"event":"refunded"`); n != 1 {
		t.Errorf("%d refunded audit events, want 1", n)
	}

	// By command: the agent who asked for the link is not a refunder.
	_, body, _ := h.sendCommand(h.commandForm("refund refund-1", "cmd-agent"))
	if !strings.Contains(body, "PAYLINK_REFUNDERS") {
		t.Errorf("the agent's refund answered %s", body)
	}
	byRefunder := func(text, name string) string {
		form := h.commandForm(text, name)
		form.Set("user_id", "U_REFUNDER")
		resp, body, _ := h.sendCommand(form)
		if resp.StatusCode != 200 {
			t.Errorf("%q answered %d", text, resp.StatusCode)
		}
		return body
	}
	for text, want := range map[string]string{
		"refund refund-1 7.00":  "At most £6.00",
		"refund refund-1 1.005": "decimal",
		"refund nope-404":       "No payment link",
	} {
		if body := byRefunder(text, "cmd"); !strings.Contains(body, want) {
			t.Errorf("%q answered %s, want %q", text, body, want)
		}
	}
	if body := byRefunder("refund refund-1 2.50", "cmd-ok"); strings.TrimSpace(body) != "" {
		t.Errorf("a good refund command answered %s, want the form", body)
	}
	forms := h.slack.WaitCalls(t, "views.open", 2, 5*time.Second)
	if raw := forms[1].Params.Get("view"); !strings.Contains(raw, `"initial_value":"2.50"`) || strings.Contains(raw, "refund_how") {
		t.Errorf("the command's form (no reversal once part is refunded) = %s", raw)
	}
	if n := refundCalls(h, id); n != 1 {
		t.Errorf("%d refunds asked of Dojo after refusals, want 1", n)
	}
}

// TestRefundInDojoDashboard: a refund made in Dojo's dashboard shows on the card.
func TestRefundInDojoDashboard(t *testing.T) {
	t.Parallel()
	r := redisTargets(t)[0]
	h := startPaylink(t, r, fastNotify)
	id, ts := h.makeLink("10.00 GBP refund-2")
	h.paid(id, ts)
	c := dojo.NewClient(dojo.Config{BaseURL: h.dojo.URL, APIKey: testDojoKey})
	if _, err := c.RefundPaymentIntent(context.Background(), id, "dashboard-1", dojo.RefundRequest{Amount: 300}); err != nil {
		t.Fatal(err)
	}
	h.sendWebhook(dojotest.Event(id, dojo.StatusRefunded))
	waitNotices(t, h.slack, "Refunded: £3.00 of the £10.00 payment", 1, 5*time.Second)
	blocks := lastUpdate(t, h, ts, "Refunded £3.00 of £10.00")
	if !strings.Contains(blocks, "refunded in Dojo") || !strings.Contains(blocks, "refund_payment") {
		t.Errorf("card after a dashboard refund: %s", blocks)
	}
}

func refundCalls(h *harness, id string) int {
	n := 0
	for _, q := range h.dojo.Requests() {
		if q.Method == http.MethodPost && q.Path == "/payment-intents/"+id+"/refunds" {
			n++
		}
	}
	return n
}
