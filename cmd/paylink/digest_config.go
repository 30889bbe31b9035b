package main

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // PAYLINK_TIMEZONE works on an image without zoneinfo (distroless)
)

// DefaultTimezone is PAYLINK_TIMEZONE's default.
const DefaultTimezone = "Europe/London"

// dayConfig is how paylink counts days, and when and where its daily digest goes.
type dayConfig struct {
	// Location is PAYLINK_TIMEZONE: the days of the counters and the digest.
	Location *time.Location
	// DigestChannel is PAYLINK_DIGEST_CHANNEL; empty: no digest.
	DigestChannel string
	// DigestAt is PAYLINK_DIGEST_AT: when the digest is posted, after midnight in
	// Location.
	DigestAt time.Duration
}

// loadDayConfig reads PAYLINK_TIMEZONE, PAYLINK_DIGEST_CHANNEL and PAYLINK_DIGEST_AT,
// returning the problems it finds.
func loadDayConfig(get func(name, def string) string) (dayConfig, []string) {
	var problems []string
	c := dayConfig{DigestChannel: get("PAYLINK_DIGEST_CHANNEL", "")}
	tz := get("PAYLINK_TIMEZONE", DefaultTimezone)
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "" || strings.EqualFold(tz, "local") {
		problems = append(problems, fmt.Sprintf("PAYLINK_TIMEZONE=%q is not an IANA time zone like Europe/London", tz))
		loc, _ = time.LoadLocation(DefaultTimezone)
	}
	c.Location = loc
	at := get("PAYLINK_DIGEST_AT", "09:00")
	d, err := parseClock(at)
	if err != nil {
		problems = append(problems, fmt.Sprintf("PAYLINK_DIGEST_AT=%q is not a time of day like 09:00", at))
		d = 9 * time.Hour
	}
	c.DigestAt = d
	return c, problems
}

// parseClock reads a time of day, HH:MM (24-hour), as the time since midnight.
func parseClock(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, fmt.Errorf("%q is not a time of day like 09:00", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}
