package main

import (
	"strings"
	"testing"
	"time"
)

func TestLoadDayConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		env      map[string]string
		zone     string
		channel  string
		at       time.Duration
		problems string
	}{
		{env: nil, zone: "Europe/London", at: 9 * time.Hour},
		{env: map[string]string{"PAYLINK_TIMEZONE": "America/New_York", "PAYLINK_DIGEST_CHANNEL": "C1", "PAYLINK_DIGEST_AT": "17:30"},
			zone: "America/New_York", channel: "C1", at: 17*time.Hour + 30*time.Minute},
		{env: map[string]string{"PAYLINK_DIGEST_AT": "00:00"}, zone: "Europe/London"},
		{env: map[string]string{"PAYLINK_TIMEZONE": "Mars/Olympus"}, zone: "Europe/London", at: 9 * time.Hour, problems: "PAYLINK_TIMEZONE"},
		{env: map[string]string{"PAYLINK_TIMEZONE": "Local"}, zone: "Europe/London", at: 9 * time.Hour, problems: "PAYLINK_TIMEZONE"},
		{env: map[string]string{"PAYLINK_DIGEST_AT": "9am"}, zone: "Europe/London", at: 9 * time.Hour, problems: "PAYLINK_DIGEST_AT"},
		{env: map[string]string{"PAYLINK_DIGEST_AT": "24:00"}, zone: "Europe/London", at: 9 * time.Hour, problems: "PAYLINK_DIGEST_AT"},
		{env: map[string]string{"PAYLINK_DIGEST_AT": "9:00"}, zone: "Europe/London", at: 9 * time.Hour, problems: "PAYLINK_DIGEST_AT"},
	}
	for _, tt := range tests {
		get := func(name, def string) string {
			if v, ok := tt.env[name]; ok {
				return v
			}
			return def
		}
		c, problems := loadDayConfig(get)
		if c.Location.String() != tt.zone || c.DigestChannel != tt.channel || c.DigestAt != tt.at {
			t.Errorf("loadDayConfig(%v) = %v, %q, %v; want %s, %q, %v", tt.env, c.Location, c.DigestChannel, c.DigestAt, tt.zone, tt.channel, tt.at)
		}
		if got := strings.Join(problems, "\n"); (tt.problems == "") != (got == "") || !strings.Contains(got, tt.problems) {
			t.Errorf("loadDayConfig(%v) problems = %q, want one naming %q", tt.env, got, tt.problems)
		}
	}
}
