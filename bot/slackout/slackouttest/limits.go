// Package slackouttest checks what paylink sends Slack against Slack's documented
// Block Kit limits, for the tests of every message.
package slackouttest

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// LimitProblems checks blocks, as JSON, against Slack's documented Block Kit limits
// (at most maxBlocks blocks, and each text, id and value within its length) and says
// what breaks them, one line each; none when they fit.
func LimitProblems(blocks []slack.Block, maxBlocks int) []string {
	var problems []string
	errorf := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	raw, err := json.Marshal(blocks)
	if err != nil {
		return []string{err.Error()}
	}
	var bs []map[string]any
	if err := json.Unmarshal(raw, &bs); err != nil {
		return []string{err.Error()}
	}
	if len(bs) == 0 || len(bs) > maxBlocks {
		errorf("%d blocks, want 1..%d", len(bs), maxBlocks)
	}
	text := func(v any) string {
		m, _ := v.(map[string]any)
		s, _ := m["text"].(string)
		return s
	}
	limit := func(what, s string, n int) {
		if c := utf8.RuneCountInString(s); c > n {
			errorf("%s is %d characters, limit %d", what, c, n)
		}
	}
	blockIDs := map[string]bool{}
	for i, b := range bs {
		kind, _ := b["type"].(string)
		at := fmt.Sprintf("block %d (%s)", i, kind)
		if id, ok := b["block_id"].(string); ok && id != "" {
			limit(at+" block_id", id, 255)
			if blockIDs[id] {
				errorf("block id %q is not unique", id)
			}
			blockIDs[id] = true
		}
		// An action id must be unique within its block (Slack: "among all other
		// action_ids in the containing block").
		actionIDs := map[string]bool{}
		switch kind {
		case "header":
			limit(at+" text", text(b["text"]), 150)
		case "section":
			limit(at+" text", text(b["text"]), 3000)
			fields, _ := b["fields"].([]any)
			if len(fields) > 10 {
				errorf("%s has %d fields, limit 10", at, len(fields))
			}
			for _, f := range fields {
				limit(at+" field", text(f), 2000)
			}
		case "context":
			els, _ := b["elements"].([]any)
			if len(els) > 10 {
				errorf("%s has %d elements", at, len(els))
			}
			for _, e := range els {
				limit(at+" element", text(e), 3000)
			}
		case "actions":
			els, _ := b["elements"].([]any)
			if len(els) > 25 {
				errorf("%s has %d elements", at, len(els))
			}
			for _, e := range els {
				m := e.(map[string]any)
				id, _ := m["action_id"].(string)
				if actionIDs[id] {
					errorf("action id %q is not unique", id)
				}
				actionIDs[id] = true
				limit(at+" action_id", id, 255)
				limit(at+" button text", text(m["text"]), 75)
				v, _ := m["value"].(string)
				limit(at+" button value", v, 2000)
				u, _ := m["url"].(string)
				limit(at+" button url", u, 3000)
				if c, ok := m["confirm"].(map[string]any); ok {
					limit(at+" confirm title", text(c["title"]), 100)
					limit(at+" confirm text", text(c["text"]), 300)
					limit(at+" confirm button", text(c["confirm"]), 30)
					limit(at+" deny button", text(c["deny"]), 30)
				}
			}
		case "input":
			limit(at+" label", text(b["label"]), 2000)
			el, _ := b["element"].(map[string]any)
			limit(at+" placeholder", text(el["placeholder"]), 150)
		}
	}
	return problems
}
