package flow

import (
	"net/http"
	"testing"
	"time"

	"github.com/paylink/paylink/bot/policy"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/store"
)

var refunders = Config{Policy: policy.Policy{Admins: map[string]bool{"UA": true}, Refunders: map[string]bool{"UR": true}}}

// paidLink makes a £10.00 link and has the customer pay it.
func (r *rig) paidLink(t *testing.T, ref string) *store.Link {
	t.Helper()
	link := r.create(t, request(agent, Order{Amount: tenGBP.Amount, Reference: ref}), Created).Link
	r.dojo.SetStatus(link.IntentID, dojo.StatusCaptured)
	// The "Paid" notice was posted: the record says Captured.
	if err := r.st.SetNoticePosted(bgCtx, link.IntentID, "Captured", "1.1", "Captured"); err != nil {
		t.Fatal(err)
	}
	link, _ = r.st.Link(bgCtx, link.IntentID)
	return link
}

func refundReq(intent, user string, amount int64, key string) RefundRequest {
	return RefundRequest{From: Origin{Team: "T1", Channel: "C1", User: user}, Intent: intent, Amount: amount, Reason: "damaged <!channel>", Key: key}
}

// TestRefundPartsUpToTheAmount: several partial refunds, each once, never more than
// was paid; each recorded and audited with who asked.
func TestRefundPartsUpToTheAmount(t *testing.T) {
	r := newRig(t, refunders)
	link := r.paidLink(t, "ref-r1")

	plan := r.PlanRefund(bgCtx, log, link, "UR")
	if plan.Outcome != RefundReady || plan.Left != 1000 || !plan.Reversible {
		t.Fatalf("plan = %+v, want ready, 10.00 left, reversible", plan)
	}
	steps := []struct {
		name    string
		user    string
		amount  int64
		key     string
		want    RefundOutcome
		left    int64
		atDojo  int64
		refunds int // at Dojo so far
	}{
		{"4.00 by a refunder", "UR", 400, "k1", Refunded, 600, 400, 1},
		{"the same form again", "UR", 400, "k1", RefundDuplicate, 600, 400, 1},
		{"more than is left", "UA", 601, "k2", RefundTooMuch, 600, 400, 1},
		{"zero", "UA", 0, "k3", RefundTooMuch, 600, 400, 1},
		{"2.50 by an admin", "UA", 250, "k4", Refunded, 350, 650, 2},
		{"all that is left", "UR", 350, "k5", Refunded, 0, 1000, 3},
		{"anything more", "UR", 1, "k6", RefundNothingLeft, 0, 1000, 3},
	}
	for _, st := range steps {
		res := r.Refund(bgCtx, log, refundReq(link.IntentID, st.user, st.amount, st.key))
		if res.Outcome != st.want || res.Left != st.left {
			t.Errorf("%s: %v, %d left (%+v); want %v, %d left", st.name, res.Outcome, res.Left, res, st.want, st.left)
		}
		pi, _ := r.dojo.Intent(link.IntentID)
		n := 0
		for _, q := range r.dojo.Requests() {
			if q.Method == http.MethodPost && q.Path == "/payment-intents/"+link.IntentID+"/refunds" {
				n++
			}
		}
		if pi.RefundedAmount != st.atDojo || n != st.refunds {
			t.Errorf("%s: Dojo refunded %d in %d calls, want %d in %d", st.name, pi.RefundedAmount, n, st.atDojo, st.refunds)
		}
	}
	for _, q := range r.dojo.Requests() {
		if q.Path == "/payment-intents/"+link.IntentID+"/refunds" && q.Header.Get("idempotencyKey") == "" {
			t.Errorf("a refund without its idempotency key")
		}
	}
	rec, _ := r.st.Link(bgCtx, link.IntentID)
	if rec.Status != string(dojo.StatusRefunded) || len(rec.Refunds.Entries) != 3 || rec.Refunds.Entries[0].User != "UR" || rec.Refunds.Entries[0].Reason != "damaged <!channel>" {
		t.Errorf("record: %s, %+v", rec.Status, rec.Refunds)
	}
	if !r.recorded(t, link.IntentID, dojo.StatusRefunded) {
		t.Error("the refund's status was not recorded")
	}
	var events []string
	for _, e := range r.audits(t) {
		if e.Event == "refunded" {
			events = append(events, e.User+":"+dojo.Money{Value: e.Amount, CurrencyCode: e.Currency}.String())
		}
	}
	if want := []string{"UR:£4.00", "UA:£2.50", "UR:£3.50"}; len(events) != 3 || events[0] != want[0] || events[1] != want[1] || events[2] != want[2] {
		t.Errorf("audit %v, want %v", events, want)
	}
}

// TestRefundRefusals: bad requests change nothing, and a refusal is audited.
func TestRefundRefusals(t *testing.T) {
	r := newRig(t, refunders)
	link := r.paidLink(t, "ref-r2")
	open := r.create(t, request(agent, Order{Amount: tenGBP.Amount, Reference: "ref-open"}), Created).Link

	if res := r.Refund(bgCtx, log, refundReq(link.IntentID, "U1", 100, "a")); res.Outcome != RefundNotAllowed {
		t.Errorf("the agent who asked, not a refunder: %v", res.Outcome)
	}
	if res := r.PlanRefund(bgCtx, log, link, "U2"); res.Outcome != RefundNotAllowed {
		t.Errorf("plan by someone who may not: %v", res.Outcome)
	}
	if res := r.Refund(bgCtx, log, refundReq(open.IntentID, "UR", 100, "b")); res.Outcome != RefundNotPaid || res.Link.Status != string(dojo.StatusCreated) {
		t.Errorf("an unpaid link: %+v", res)
	}
	if res := r.PlanRefund(bgCtx, log, open, "UR"); res.Outcome != RefundNotPaid {
		t.Errorf("plan of an unpaid link: %v", res.Outcome)
	}
	other := refundReq(link.IntentID, "UR", 100, "c")
	other.From.Team = "T2"
	if res := r.Refund(bgCtx, log, other); res.Outcome != RefundFailed || res.Err != store.ErrNotFound {
		t.Errorf("another workspace's link: %+v", res)
	}
	// Dojo refuses: the amount is given back.
	r.dojo.FailNext(1, http.StatusBadRequest, `{"title":"Bad Request","status":400,"detail":"Refunds are not enabled."}`)
	if res := r.Refund(bgCtx, log, refundReq(link.IntentID, "UR", 1000, "d")); res.Outcome != RefundRefused || res.Reason != "Refunds are not enabled." || res.Left != 1000 {
		t.Errorf("Dojo refusing: %+v", res)
	}
	if pi, _ := r.dojo.Intent(link.IntentID); pi.RefundedAmount != 0 {
		t.Errorf("Dojo refunded %d", pi.RefundedAmount)
	}
	for _, e := range r.audits(t) {
		if e.Event != "refused" {
			t.Errorf("audit event %+v", e)
		}
	}
	if n := len(r.audits(t)); n != 2 {
		t.Errorf("%d audit events, want 2 refused", n)
	}
}

// TestRefundAnswerLost: Dojo made the refund but its answer was lost. The amount
// stays held; the next refund of the link asks Dojo again with the same key, and
// Dojo refunds once.
func TestRefundAnswerLost(t *testing.T) {
	r := newRig(t, refunders, func(c *dojo.Config) { c.Timeout, c.Retries = 300*time.Millisecond, -1 })
	link := r.paidLink(t, "ref-r3")
	r.PlanRefund(bgCtx, log, link, "UR")

	release := r.dojo.AnswerLate()
	res := r.Refund(bgCtx, log, refundReq(link.IntentID, "UR", 400, "lost"))
	release()
	if res.Outcome != RefundFailed || !res.Held || res.Left != 600 {
		t.Fatalf("answer lost: %+v", res)
	}
	if again := r.Refund(bgCtx, log, refundReq(link.IntentID, "UR", 400, "lost")); again.Outcome != RefundUnderWay {
		t.Errorf("the same submission at once: %v", again.Outcome)
	}
	r.clock.Advance(refundStale + time.Second)
	plan := r.PlanRefund(bgCtx, log, link, "UR")
	if len(plan.Settled) != 1 || plan.Settled[0].Amount != 400 || !plan.Settled[0].Done || plan.Left != 600 || plan.Reversible {
		t.Errorf("plan after: %+v", plan)
	}
	if pi, _ := r.dojo.Intent(link.IntentID); pi.RefundedAmount != 400 {
		t.Errorf("Dojo refunded %d, want 400 once", pi.RefundedAmount)
	}
	if res := r.Refund(bgCtx, log, refundReq(link.IntentID, "UR", 400, "lost")); res.Outcome != RefundDuplicate {
		t.Errorf("the same submission after: %v", res.Outcome)
	}
}

// TestReverse: on the day of the payment, the whole amount may be reversed instead.
func TestReverse(t *testing.T) {
	r := newRig(t, refunders)
	link := r.paidLink(t, "ref-r4")
	req := refundReq(link.IntentID, "UA", 1000, "rv")
	req.Reverse = true
	partial := req
	partial.Amount, partial.Key = 500, "rv-half"
	if res := r.Refund(bgCtx, log, partial); res.Outcome != RefundTooMuch {
		t.Errorf("a reversal of half: %v", res.Outcome)
	}
	res := r.Refund(bgCtx, log, req)
	if res.Outcome != Reversed || res.Left != 0 || res.Link.Status != string(dojo.StatusReversed) || res.Refund.DojoID == "" {
		t.Fatalf("reverse: %+v", res)
	}
	if pi, _ := r.dojo.Intent(link.IntentID); pi.Status != dojo.StatusReversed {
		t.Errorf("at Dojo: %s", pi.Status)
	}
	if !r.recorded(t, link.IntentID, dojo.StatusReversed) {
		t.Error("the reversal was not recorded")
	}
	if plan := r.PlanRefund(bgCtx, log, link, "UA"); plan.Outcome != RefundNothingLeft {
		t.Errorf("plan after: %v", plan.Outcome)
	}
	found := false
	for _, e := range r.audits(t) {
		found = found || e.Event == "reversed" && e.User == "UA" && e.Amount == 1000
	}
	if !found {
		t.Error("no reversed audit event")
	}

	// Another day: refunds only.
	old := r.paidLink(t, "ref-r5")
	r.clock.Advance(48 * time.Hour)
	if plan := r.PlanRefund(bgCtx, log, old, "UA"); plan.Outcome != RefundReady || plan.Reversible {
		t.Errorf("plan two days on: %+v", plan)
	}
}

// TestRefundSeesDojoDashboard: a refund made in Dojo's dashboard counts against what
// is left.
func TestRefundSeesDojoDashboard(t *testing.T) {
	r := newRig(t, refunders)
	link := r.paidLink(t, "ref-r6")
	c := dojo.NewClient(dojo.Config{BaseURL: r.dojo.URL, APIKey: testKey})
	if _, err := c.RefundPaymentIntent(bgCtx, link.IntentID, "dashboard", dojo.RefundRequest{Amount: 300}); err != nil {
		t.Fatal(err)
	}
	plan := r.PlanRefund(bgCtx, log, link, "UR")
	if plan.Outcome != RefundReady || plan.Left != 700 || plan.Reversible {
		t.Errorf("plan: %+v", plan)
	}
	if res := r.Refund(bgCtx, log, refundReq(link.IntentID, "UR", 701, "x")); res.Outcome != RefundTooMuch {
		t.Errorf("more than is left: %v", res.Outcome)
	}
}

func TestRefundKey(t *testing.T) {
	base := RefundKey("T1", "V1", "pi_1", 400, false)
	if len(base) > 100 || base != RefundKey("T1", "V1", "pi_1", 400, false) {
		t.Fatalf("key %q: not stable, or too long for Dojo", base)
	}
	for _, k := range []string{RefundKey("T2", "V1", "pi_1", 400, false), RefundKey("T1", "V2", "pi_1", 400, false),
		RefundKey("T1", "V1", "pi_2", 400, false), RefundKey("T1", "V1", "pi_1", 401, false), RefundKey("T1", "V1", "pi_1", 400, true)} {
		if k == base {
			t.Errorf("two submissions share the key %q", k)
		}
	}
}

// TestReversalAnswerLost: a reversal has no key; when its answer was lost, Dojo's
// status says whether it was made.
func TestReversalAnswerLost(t *testing.T) {
	r := newRig(t, refunders, func(c *dojo.Config) { c.Timeout, c.Retries = 300*time.Millisecond, -1 })
	link := r.paidLink(t, "ref-r7")
	req := refundReq(link.IntentID, "UA", 1000, "rv-lost")
	req.Reverse = true
	release := r.dojo.AnswerLate()
	res := r.Refund(bgCtx, log, req)
	release()
	if res.Outcome != RefundFailed || !res.Held {
		t.Fatalf("answer lost: %+v", res)
	}
	r.clock.Advance(refundStale + time.Second)
	plan := r.PlanRefund(bgCtx, log, link, "UA")
	if plan.Outcome != RefundNothingLeft || len(plan.Settled) != 1 || plan.Settled[0].Kind != store.KindReversal {
		t.Errorf("plan after: %+v", plan)
	}
	if rec, _ := r.st.Link(bgCtx, link.IntentID); rec.Status != string(dojo.StatusReversed) || rec.Refunds.Held != 0 {
		t.Errorf("record after: %s, %+v", rec.Status, rec.Refunds)
	}
}

// TestRefundBeforeThePaidNotice: Dojo says paid before the card does; Dojo failing
// changes nothing.
func TestRefundBeforeThePaidNotice(t *testing.T) {
	r := newRig(t, refunders)
	link := r.create(t, request(agent, Order{Amount: tenGBP.Amount, Reference: "ref-r8"}), Created).Link
	r.dojo.SetStatus(link.IntentID, dojo.StatusCaptured)
	r.dojo.FailNext(3, http.StatusServiceUnavailable, "{}")
	if plan := r.PlanRefund(bgCtx, log, link, "UR"); plan.Outcome != RefundFailed || plan.Err == nil {
		t.Errorf("Dojo down: %+v", plan)
	}
	r.dojo.FailNext(3, http.StatusServiceUnavailable, "{}")
	if res := r.Refund(bgCtx, log, refundReq(link.IntentID, "UR", 100, "early")); res.Outcome != RefundFailed || res.Held {
		t.Errorf("Dojo down: %+v", res)
	}
	if plan := r.PlanRefund(bgCtx, log, link, "UR"); plan.Outcome != RefundReady || plan.Left != 1000 {
		t.Errorf("plan: %+v", plan)
	}
	if !r.recorded(t, link.IntentID, dojo.StatusCaptured) {
		t.Error("the payment was not recorded")
	}
	if res := r.Refund(bgCtx, log, refundReq(link.IntentID, "UR", 100, "early")); res.Outcome != Refunded {
		t.Errorf("refund: %+v", res)
	}
}
