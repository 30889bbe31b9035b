package dojotest

import (
	"sort"
	"testing"
)

// servedPaths are the spec's paths the fake serves.
var servedPaths = []string{
	"/payment-intents", "/payment-intents/{paymentIntentId}", "/payment-intents/search",
	"/payment-intents/{paymentIntentId}/refunds",
	"/webhooks", "/webhooks/{subscriptionId}/secrets", "/webhooks/{subscriptionId}/secrets/{secretId}/activate",
}

// TestSpecExamples: every example answer in Dojo's spec, for the operations the fake
// serves, passes the spec as the fake amends it; without the amendments, some fail,
// which is why there are amendments.
func TestSpecExamples(t *testing.T) {
	amended, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := parseSpec(specJSON, false)
	if err != nil {
		t.Fatal(err)
	}
	examples := amended.examples(servedPaths...)
	if len(examples) < 5 {
		t.Fatalf("only %d examples found", len(examples))
	}
	names := make([]string, 0, len(examples))
	for name := range examples {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := examples[name].check(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	failing := 0
	for name, ex := range raw.examples(servedPaths...) {
		if err := ex.check(); err != nil {
			failing++
			t.Logf("unamended, %s fails: %.300v", name, err)
		}
	}
	if failing == 0 {
		t.Errorf("every example passes the unamended spec: the amendments are not needed")
	}
}

// TestSpecSearchPage: a page of search results passes the amended spec, though the
// spec as written (allOf with a part that forbids every property) refuses any page.
func TestSpecSearchPage(t *testing.T) {
	amended, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := parseSpec(specJSON, false)
	if err != nil {
		t.Fatal(err)
	}
	page := map[string]any{"data": []any{}, "after": "pi_sandbox_x"}
	if err := amended.checkSchema("PagedPaymentIntent", page); err != nil {
		t.Errorf("amended spec refuses a page: %v", err)
	}
	if err := raw.checkSchema("PagedPaymentIntent", page); err == nil {
		t.Errorf("the spec as written accepts a page: the amendment is not needed")
	}
	if err := amended.checkSchema("PagedPaymentIntent", map[string]any{"data": []any{}, "next": "x"}); err == nil {
		t.Errorf("amended spec accepts a page with an unknown property")
	}
}
