package audit

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/rs/zerolog"

	"github.com/paylink/paylink/store"
)

var paid = store.AuditEvent{Event: "paid", Team: "T1", Channel: "C1", User: "U1", Amount: 1000, Currency: "GBP",
	Reference: "ref-1", Intent: "pi_1", Detail: "reported by webhook"}

// TestLog: the event is one object under "audit" at info level, and nothing below it.
func TestLog(t *testing.T) {
	var buf bytes.Buffer
	Log(zerolog.New(&buf).Level(zerolog.InfoLevel), paid)
	var line struct {
		Audit map[string]any `json:"audit"`
	}
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("%v: %s", err, buf.Bytes())
	}
	if line.Audit["event"] != "paid" || line.Audit["amount"] != float64(1000) || line.Audit["intent"] != "pi_1" {
		t.Errorf("audit line = %s", buf.Bytes())
	}
	buf.Reset()
	Log(zerolog.New(&buf).Level(zerolog.WarnLevel), paid)
	if buf.Len() != 0 {
		t.Errorf("logged at warn level: %s", buf.Bytes())
	}
}

// BenchmarkLogWarn is an audit event where the log is at warn level, as in production.
func BenchmarkLogWarn(b *testing.B) {
	log := zerolog.New(&bytes.Buffer{}).Level(zerolog.WarnLevel)
	b.ReportAllocs()
	for b.Loop() {
		Log(log, paid)
	}
}
