package slackout

import (
	"strings"
)

// mrkdwnEscaper escapes the three characters that Slack's mrkdwn gives meaning to.
// Everything a user typed passes through it before it is shown, so a reference like
// "<!channel>" notifies nobody and "<https://evil|bank>" links nowhere.
var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Escape escapes s for Slack's mrkdwn (and for a message's text fallback).
func Escape(s string) string {
	if !strings.ContainsAny(s, "&<>") {
		return s
	}
	return mrkdwnEscaper.Replace(s)
}
