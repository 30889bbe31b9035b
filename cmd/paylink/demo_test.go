package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// startTestPlayground runs the playground on a free port until the test ends.
func startTestPlayground(t *testing.T) *playground {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	p, err := startPlayground(ctx, "127.0.0.1:0", logs, "warn", specChecked(t))
	if err != nil {
		stop()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop()
		if err := p.Wait(); err != nil {
			t.Errorf("playground stopped with %v", err)
		}
		if t.Failed() {
			t.Logf("paylink log:\n%s", logs.String())
		}
	})
	return p
}

func postJSON(t *testing.T, u string, v any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(v)
	resp, err := http.Post(u, "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	json.NewDecoder(resp.Body).Decode(&out)
	return out
}

func playgroundState(t *testing.T, p *playground) demoState {
	t.Helper()
	resp, err := http.Get(p.URL + "/api/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st demoState
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// waitState polls the page's state until ok holds.
func waitState(t *testing.T, p *playground, what string, ok func(demoState) bool) demoState {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := playgroundState(t, p)
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			b, _ := json.Marshal(st)
			t.Fatalf("waiting for %s; the page shows %s", what, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPlaygroundFlow goes through the playground's own endpoints, as its page does:
// a command, the card, paying at the checkout, and "Paid" in the thread.
func TestPlaygroundFlow(t *testing.T) {
	t.Parallel()
	p := startTestPlayground(t)
	if out := postJSON(t, p.URL+"/api/command", map[string]string{"text": "/paylink 10.00 GBP ref-123"}); out["error"] != "" {
		t.Fatalf("command: %v", out)
	}
	var id string
	waitState(t, p, "the link card", func(st demoState) bool {
		for _, it := range st.Items {
			if it.Kind == "message" && strings.Contains(string(it.Blocks), "£10.00 payment link") {
				_, after, _ := strings.Cut(it.Text, "/checkout/")
				id, _, _ = strings.Cut(after, " ")
				return true
			}
		}
		return false
	})
	if !strings.HasPrefix(id, "pi_") {
		t.Fatalf("no intent id in the card's link: %q", id)
	}

	page, err := http.Get(p.URL + "/checkout/" + id)
	if err != nil {
		t.Fatal(err)
	}
	page.Body.Close()
	if page.StatusCode != http.StatusOK {
		t.Fatalf("checkout page: HTTP %d", page.StatusCode)
	}
	resp, err := http.PostForm(p.URL+"/checkout/"+id, url.Values{"action": {"pay"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !strings.Contains(resp.Request.URL.RawQuery, "HTTP+200") {
		t.Errorf("after Pay the checkout says %q, want paylink's 200 to the webhook", resp.Request.URL.Query().Get("m"))
	}
	waitState(t, p, `"Paid" in the thread and the card updated`, func(st demoState) bool {
		for _, it := range st.Items {
			if it.Kind == "message" && it.Edited && strings.Contains(string(it.Blocks), "£10.00 paid") &&
				len(it.Replies) == 1 && strings.Contains(it.Replies[0].Text, "Paid: £10.00 for ref-123") {
				return true
			}
		}
		return false
	})
}

func TestPlaygroundCheckout(t *testing.T) {
	t.Parallel()
	p := startTestPlayground(t)
	postJSON(t, p.URL+"/api/command", map[string]string{"text": "/paylink 5 EUR decline-me"})
	waitState(t, p, "the link card", func(st demoState) bool { return len(p.dojo.Created()) == 1 && len(st.Items) >= 2 })
	id := p.dojo.Created()[0].ID

	tests := []struct {
		name, action, want string
		status             string
	}{
		{"a declined card leaves the link open", "decline", "Card declined", "Created"},
		{"no choice", "", "Choose Pay or Decline", "Created"},
		{"paying captures it", "pay", "Paid.", "Captured"},
		{"a paid link can't be paid again", "pay", "can no longer be paid", "Captured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.PostForm(p.URL+"/checkout/"+id, url.Values{"action": {tt.action}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if msg := resp.Request.URL.Query().Get("m"); !strings.Contains(msg, tt.want) {
				t.Errorf("checkout says %q, want %q", msg, tt.want)
			}
			if pi, _ := p.dojo.Intent(id); string(pi.Status) != tt.status {
				t.Errorf("intent is %s, want %s", pi.Status, tt.status)
			}
		})
	}
	resp, _ := http.Get(p.URL + "/checkout/pi_unknown")
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown intent's checkout: HTTP %d, want 404", resp.StatusCode)
	}
}

// TestPlaygroundForm opens the form with /paylink alone, sees its problems shown on
// the fields, then submits it cleanly.
func TestPlaygroundForm(t *testing.T) {
	t.Parallel()
	p := startTestPlayground(t)
	postJSON(t, p.URL+"/api/command", map[string]string{"text": "/paylink"})
	st := waitState(t, p, "the form", func(st demoState) bool { return st.View != nil })
	bad := postJSON(t, p.URL+"/api/submit", map[string]any{"index": st.View.Index, "values": map[string]string{"amount": "12.345", "currency": "EUR"}})
	errs, _ := bad["errors"].(map[string]any)
	if errs["amount"] == nil || errs["reference"] == nil {
		t.Fatalf("a bad form answered %v, want problems on amount and reference", bad)
	}
	postJSON(t, p.URL+"/api/submit", map[string]any{"index": st.View.Index, "values": map[string]string{"amount": "12.50", "currency": "EUR", "reference": "inv-9", "expiry": "7d"}})
	waitState(t, p, "the form closed and its link", func(st demoState) bool {
		if st.View != nil {
			return false
		}
		for _, it := range st.Items {
			if strings.Contains(string(it.Blocks), "€12.50 payment link") {
				return true
			}
		}
		return false
	})
}

func TestPlaygroundRefusesOtherCommands(t *testing.T) {
	t.Parallel()
	p := startTestPlayground(t)
	tests := []struct{ text, want string }{
		{"/remind me", "Only /paylink"},
		{"/paylinks 10 GBP x", "Only /paylink"},
		{"hello", "Only /paylink"},
	}
	for _, tt := range tests {
		out := postJSON(t, p.URL+"/api/command", map[string]string{"text": tt.text})
		if msg, _ := out["error"].(string); !strings.Contains(msg, tt.want) {
			t.Errorf("%q answered %v, want %q", tt.text, out, tt.want)
		}
	}
}
