// Package fakeslack is a fake Slack Web API and response_url endpoint for tests. The
// real slack-go client talks to it: it checks the bot token, answers in Slack's
// {"ok":…} shape, records every call, and can be told to fail as Slack does
// (error codes, HTTP 5xx, 429 with Retry-After).
package fakeslack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Call is one Web API call the fake received.
type Call struct {
	Method      string
	Params      url.Values
	Channel     string
	Text        string
	TS          string // the ts the fake answered with (chat.postMessage) or was given (chat.update)
	ThreadTS    string
	Blocks      json.RawMessage
	Broadcast   bool
	UnfurlLinks *bool
	UnfurlMedia *bool
	Failed      string    // the error the fake answered with, if any
	At          time.Time // when the call arrived
}

// ResponseCall is one message posted to a response_url.
type ResponseCall struct {
	ResponseType    string          `json:"response_type"`
	Text            string          `json:"text"`
	Blocks          json.RawMessage `json:"blocks"`
	ReplaceOriginal bool            `json:"replace_original"`
	DeleteOriginal  bool            `json:"delete_original"`
	UnfurlLinks     *bool           `json:"unfurl_links"`
	UnfurlMedia     *bool           `json:"unfurl_media"`
}

// Message is a message as it stands in a channel, after any updates.
type Message struct {
	Channel  string
	TS       string
	ThreadTS string
	Text     string
	Blocks   json.RawMessage
	Updates  int
}

// Failure makes a method fail.
type Failure struct {
	Error      string // Slack's error code, answered as {"ok":false,"error":…} with HTTP 200
	Status     int    // an HTTP status instead (500, 503, 429…)
	RetryAfter int    // seconds, with Status 429
	Times      int    // how many calls fail; 0 means until ClearFailures
	Channel    string // only calls for this channel fail, when set
}

// Server is a fake Slack.
type Server struct {
	srv   *httptest.Server
	token string

	mu        sync.Mutex
	calls     []Call
	responses map[string][]ResponseCall
	messages  map[string]*Message // channel + "/" + ts
	order     []string
	failures  map[string][]*Failure
	latency   time.Duration
	onCall    func(Call)
	delayed   map[string]int // requests waiting out the latency, by path
	nextTS    int64
	groups    map[string][]string
	views     int

	appToken string
	sock     socket
}

// Option configures a Server.
type Option func(*Server)

// WithToken sets the only bot token the fake accepts (default "xoxb-test").
func WithToken(token string) Option { return func(s *Server) { s.token = token } }

// New starts a fake Slack, closed when the test ends.
func New(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s := Start(opts...)
	tb.Cleanup(s.Close)
	return s
}

// Start starts a fake Slack outside a test; Close stops it.
func Start(opts ...Option) *Server {
	s := &Server{
		token:     "xoxb-test",
		responses: map[string][]ResponseCall{},
		messages:  map[string]*Message{},
		failures:  map[string][]*Failure{},
		groups:    map[string][]string{},
		nextTS:    time.Now().Unix() * 1_000_000,
	}
	for _, o := range opts {
		o(s)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// APIURL is the Web API base to give slack.OptionAPIURL (it ends in "/").
func (s *Server) APIURL() string { return s.srv.URL + "/api/" }

// ResponseURL returns a response_url whose posts are kept under name.
func (s *Server) ResponseURL(name string) string {
	return s.srv.URL + "/response/" + url.PathEscape(name)
}

// Calls returns the calls of one method, in order.
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// AllCalls returns every Web API call, in order.
func (s *Server) AllCalls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// WaitCalls waits until method has been called successfully at least n times and
// returns those calls; it fails the test after timeout.
func (s *Server) WaitCalls(tb testing.TB, method string, n int, timeout time.Duration) []Call {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var ok []Call
		for _, c := range s.Calls(method) {
			if c.Failed == "" {
				ok = append(ok, c)
			}
		}
		if len(ok) >= n {
			return ok
		}
		if time.Now().After(deadline) {
			tb.Fatalf("fakeslack: %d successful %s calls after %v, want %d", len(ok), method, timeout, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Responses returns what was posted to the response_url called name.
func (s *Server) Responses(name string) []ResponseCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ResponseCall(nil), s.responses[name]...)
}

// Messages returns the messages in channel (thread replies included), oldest first.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, k := range s.order {
		if m := s.messages[k]; m.Channel == channel {
			out = append(out, *m)
		}
	}
	return out
}

// Fail makes method fail as f says.
func (s *Server) Fail(method string, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[method] = append(s.failures[method], &f)
}

// ClearFailures makes every method succeed again.
func (s *Server) ClearFailures() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = map[string][]*Failure{}
}

// OnCall has f called with every Web API call before it is answered (f must not call
// the server). nil removes it.
func (s *Server) OnCall(f func(Call)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onCall = f
}

// SetLatency delays every answer by d.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// Delayed returns how many calls of method (such as "chat.postMessage"; "" for any
// request) are waiting out the latency set by SetLatency.
func (s *Server) Delayed(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if method != "" {
		return s.delayed["/api/"+method]
	}
	n := 0
	for _, v := range s.delayed {
		n += v
	}
	return n
}

// SetUsergroup sets the members usergroups.users.list returns for group.
func (s *Server) SetUsergroup(group string, users ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups[group] = users
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	latency := s.latency
	s.mu.Unlock()
	if latency > 0 {
		// Read the body first: the server notices a caller that went away only once the
		// body has been read.
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		r.Body = io.NopCloser(bytes.NewReader(body))
		s.mu.Lock()
		if s.delayed == nil {
			s.delayed = map[string]int{}
		}
		s.delayed[r.URL.Path]++
		s.mu.Unlock()
		gone := false
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			gone = true
		}
		s.mu.Lock()
		s.delayed[r.URL.Path]--
		s.mu.Unlock()
		if gone {
			return // the caller went away first: as if the request never arrived
		}
	}
	switch {
	case r.URL.Path == "/api/apps.connections.open":
		s.connectionsOpen(w, r)
	case r.URL.Path == "/socket":
		s.serveSocket(w, r)
	case strings.HasPrefix(r.URL.Path, "/api/"):
		s.api(w, r, strings.TrimPrefix(r.URL.Path, "/api/"))
	case strings.HasPrefix(r.URL.Path, "/response/"):
		s.response(w, r, strings.TrimPrefix(r.URL.Path, "/response/"))
	default:
		http.NotFound(w, r)
	}
}

// params reads a Web API call's arguments: a form (what slack-go sends for chat.*) or
// a JSON body, plus the query.
func params(r *http.Request) (url.Values, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	p := r.URL.Query()
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, err
		}
		for k, v := range m {
			switch v := v.(type) {
			case string:
				p.Set(k, v)
			default:
				b, _ := json.Marshal(v)
				p.Set(k, string(b))
			}
		}
	default:
		f, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, err
		}
		for k, v := range f {
			p[k] = v
		}
	}
	return p, nil
}

func boolParam(p url.Values, name string) *bool {
	v, ok := p[name]
	if !ok || len(v) == 0 {
		return nil
	}
	b, err := strconv.ParseBool(v[0])
	if err != nil {
		return nil
	}
	return &b
}

func (s *Server) api(w http.ResponseWriter, r *http.Request, method string) {
	p, err := params(r)
	if err != nil {
		writeJSON(w, map[string]any{"ok": false, "error": "invalid_form_data"})
		return
	}
	token := p.Get("token")
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "Bearer ") {
		token = strings.TrimPrefix(auth, "Bearer ")
	}
	call := Call{
		Method:      method,
		Params:      p,
		Channel:     p.Get("channel"),
		Text:        p.Get("text"),
		TS:          p.Get("ts"),
		ThreadTS:    p.Get("thread_ts"),
		Broadcast:   p.Get("reply_broadcast") == "true",
		UnfurlLinks: boolParam(p, "unfurl_links"),
		UnfurlMedia: boolParam(p, "unfurl_media"),
		At:          time.Now(),
	}
	if b := p.Get("blocks"); b != "" {
		call.Blocks = canonicalJSON(b)
	}
	s.mu.Lock()
	onCall := s.onCall
	s.mu.Unlock()
	if onCall != nil {
		onCall(call)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	record := func(failed string) {
		call.Failed = failed
		s.calls = append(s.calls, call)
	}
	if token != s.token {
		record("invalid_auth")
		writeJSON(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	if f := s.takeFailure(method, call.Channel); f != nil {
		switch {
		case f.Status == http.StatusTooManyRequests:
			record("ratelimited")
			w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
			w.WriteHeader(http.StatusTooManyRequests)
		case f.Status != 0:
			record(fmt.Sprintf("http_%d", f.Status))
			w.WriteHeader(f.Status)
		default:
			record(f.Error)
			writeJSON(w, map[string]any{"ok": false, "error": f.Error})
		}
		return
	}
	switch method {
	case "auth.test":
		record("")
		writeJSON(w, map[string]any{"ok": true, "url": "https://example.slack.com/", "team": "Example", "user": "paylink", "team_id": "T0001", "user_id": "UBOT", "bot_id": "BBOT"})
	case "chat.postMessage":
		if call.Channel == "" || call.Text == "" && call.Blocks == nil {
			e := "channel_not_found"
			if call.Channel != "" {
				e = "no_text"
			}
			record(e)
			writeJSON(w, map[string]any{"ok": false, "error": e})
			return
		}
		s.nextTS++
		ts := fmt.Sprintf("%d.%06d", s.nextTS/1_000_000, s.nextTS%1_000_000)
		call.TS = ts
		record("")
		key := call.Channel + "/" + ts
		s.messages[key] = &Message{Channel: call.Channel, TS: ts, ThreadTS: call.ThreadTS, Text: call.Text, Blocks: call.Blocks}
		s.order = append(s.order, key)
		writeJSON(w, map[string]any{"ok": true, "channel": call.Channel, "ts": ts, "message": map[string]any{"text": call.Text, "ts": ts}})
	case "chat.update":
		m, ok := s.messages[call.Channel+"/"+call.TS]
		if !ok {
			record("message_not_found")
			writeJSON(w, map[string]any{"ok": false, "error": "message_not_found"})
			return
		}
		record("")
		if call.Text != "" {
			m.Text = call.Text
		}
		if call.Blocks != nil {
			m.Blocks = call.Blocks
		}
		m.Updates++
		writeJSON(w, map[string]any{"ok": true, "channel": call.Channel, "ts": call.TS, "text": m.Text})
	case "chat.postEphemeral":
		record("")
		s.nextTS++
		writeJSON(w, map[string]any{"ok": true, "message_ts": fmt.Sprintf("%d.%06d", s.nextTS/1_000_000, s.nextTS%1_000_000)})
	case "views.open", "views.update", "views.push", "views.publish":
		record("")
		s.views++
		writeJSON(w, map[string]any{"ok": true, "view": map[string]any{"id": fmt.Sprintf("V%08d", s.views)}})
	case "usergroups.users.list":
		users, ok := s.groups[p.Get("usergroup")]
		if !ok {
			record("no_such_subteam")
			writeJSON(w, map[string]any{"ok": false, "error": "no_such_subteam"})
			return
		}
		record("")
		writeJSON(w, map[string]any{"ok": true, "users": users})
	default:
		record("unknown_method")
		writeJSON(w, map[string]any{"ok": false, "error": "unknown_method"})
	}
}

// takeFailure returns the failure that applies to this call, counting it down.
func (s *Server) takeFailure(method, channel string) *Failure {
	for _, f := range s.failures[method] {
		if f.Channel != "" && f.Channel != channel {
			continue
		}
		if f.Times < 0 {
			continue
		}
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				f.Times = -1
			}
		}
		return f
	}
	return nil
}

// response takes a message posted to a response_url. Like Slack, it accepts five.
func (s *Server) response(w http.ResponseWriter, r *http.Request, name string) {
	name, _ = url.PathUnescape(name)
	var msg ResponseCall
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err := json.Unmarshal(body, &msg); err != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.responses[name]) >= 5 {
		http.Error(w, "used_url", http.StatusNotFound)
		return
	}
	s.responses[name] = append(s.responses[name], msg)
	io.WriteString(w, "ok")
}

// canonicalJSON re-encodes JSON without HTML escaping, so tests can look for "<@U1>"
// rather than "\u003c@U1\u003e". Invalid JSON is kept as it came.
func canonicalJSON(s string) json.RawMessage {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return json.RawMessage(s)
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	return json.RawMessage(strings.TrimSpace(b.String()))
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(v)
}
