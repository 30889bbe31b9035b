package slackout

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/paylink/paylink/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestCardGolden renders the card in each state, and its notice, and compares them
// with testdata/card-<status>.json (go test -update rewrites them).
func TestCardGolden(t *testing.T) {
	for _, status := range []string{"Created", "Authorized", "Captured", "Canceled", store.StatusExpired, "Refunded", "Reversed"} {
		t.Run(status, func(t *testing.T) {
			l := &store.Link{
				IntentID: "pi_sandbox_golden", TeamID: "T1", ChannelID: "C1", UserID: "U1",
				Amount: 1000, Currency: "GBP", Reference: "ref-123 <!channel>", Description: "Blue & white mug",
				Status: status, CreatedAt: time.Unix(1_700_000_000, 0), ExpiresAt: time.Unix(1_702_592_000, 0),
				StatusAt: time.Unix(1_700_003_600, 0), TestMode: true,
			}
			text, blocks := Card(l, "https://pay.dojo.tech/checkout/")
			goldenJSON(t, "card-"+status+".json", map[string]any{"text": text, "blocks": blocks, "notice": Notice(l, status), "dm": DMNotice(l, status),
				"list": ListLine(l, "https://pay.dojo.tech/checkout/")})
		})
	}
}

// goldenJSON compares v, as indented JSON, with testdata/name (go test -update
// rewrites it).
func goldenJSON(t *testing.T, name string, v any) {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("%s differs from what is rendered:\n%s", path, b.Bytes())
	}
}
