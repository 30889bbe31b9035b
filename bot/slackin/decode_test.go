package slackin

import (
	"net/url"
	"testing"
)

// FuzzDecodeInteraction: any body decodes or is refused without panicking; what is
// accepted has a type and a user.
func FuzzDecodeInteraction(f *testing.F) {
	for _, p := range []string{
		`{"type":"block_actions","user":{"id":"U1"},"team":{"id":"T1"},"actions":[{"action_id":"cancel_link","value":"pi_1"}]}`,
		`{"type":"view_submission","user":{"id":"U1"},"view":{"callback_id":"paylink_create","private_metadata":"{\"c\":\"C1\"}","state":{"values":{"amount":{"amount":{"value":"10"}}}}}}`,
		`{"type":""}`, `[]`, `{"user":{"id":1}}`,
	} {
		f.Add([]byte(url.Values{"payload": {p}}.Encode()))
	}
	f.Add([]byte("payload=%7B"))
	f.Fuzz(func(t *testing.T, body []byte) {
		cb, err := decodeInteraction(body)
		if err == nil && (cb.Type == "" || cb.User.ID == "") {
			t.Fatalf("accepted a payload without type or user: %q", body)
		}
	})
}
