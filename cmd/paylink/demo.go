package main

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/paylink/paylink/bot"
	"github.com/paylink/paylink/bot/fakeslack"
	"github.com/paylink/paylink/dojo"
	"github.com/paylink/paylink/dojo/dojofake"
)

const demoUsage = `usage: paylink demo [--port 8080]

Runs paylink on this machine with everything it talks to played locally: an embedded
Redis, a fake Dojo and a fake Slack, and a web page that looks like a Slack channel.
Type /paylink 10.00 GBP ref-123 there: the page sends the signed slash command Slack
would send to paylink's /slack/commands, and shows what paylink posts back. The
checkout link opens a fake checkout page whose Pay button captures the payment at the
fake Dojo and sends its signed webhook to paylink's /dojo/webhooks, so "Paid" appears
under the link. No secrets or accounts are needed; nothing is kept after it stops.

The page listens on 127.0.0.1 only, on --port (default: PORT, else 8080; 0 picks a
free port). LOG_LEVEL (default error) sets how much of paylink's log is printed.
`

//go:embed playground
var playgroundFiles embed.FS

// The playground's workspace: one agent in one channel.
const (
	demoTeam        = "T0PLAYGRD"
	demoTeamDomain  = "playground"
	demoChannel     = "C0PAYMENTS"
	demoChannelName = "payments"
	demoUser        = "U0ALEX"
	demoUserName    = "alex"
	demoBotToken    = "xoxb-playground"
	demoDojoKey     = "sk_sandbox_playground"
)

// runDemo runs the playground until ctx ends.
func runDemo(ctx context.Context, args []string, lookup func(string) (string, bool), stdout io.Writer) error {
	fs := newSubcommandFlags("demo", demoUsage, stdout)
	defPort := lookupTrim(lookup, "PORT")
	if defPort == "" {
		defPort = "8080"
	}
	port := fs.String("port", defPort, "the playground's port on 127.0.0.1 (0: any free port)")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if n, err := strconv.Atoi(*port); err != nil || n < 0 || n > 65535 {
		return usageError(fs, "--port %q is not a port number", *port)
	}
	level := lookupTrim(lookup, "LOG_LEVEL")
	if level == "" {
		level = "error"
	}
	p, err := startPlayground(ctx, "127.0.0.1:"+*port, stdout, level)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "paylink playground: %s\n", p.URL)
	fmt.Fprintf(stdout, "Open it and type /paylink 10.00 GBP ref-123 (or /paylink alone for the form). Ctrl-C stops it.\n")
	<-ctx.Done()
	return p.Wait()
}

// playground is paylink running against a fake Dojo and a fake Slack, and a web page
// that plays the Slack channel and Dojo's checkout.
type playground struct {
	URL        string // the page, http://127.0.0.1:port
	paylinkURL string

	dojo          *dojofake.Server
	slack         *fakeslack.Server
	signingSecret string
	webhookSecret string
	hc            *http.Client
	pages         *template.Template

	mu        sync.Mutex
	seen      map[string]seen // what the page shows, by key
	seq       int
	typed     []typedCommand
	responses []string // response_url names handed out, in order
	viewsShut int      // views.open calls before this one are closed

	srv  *http.Server
	done chan error // paylink's and the page's servers' ends
}

// typedCommand is a command the agent typed and paylink's immediate reply to it.
type typedCommand struct {
	Key   string
	Text  string
	At    time.Time
	Reply *fakeslack.ResponseCall // nil when paylink answered with nothing
	Error string                  // when the request did not get a 200
}

// startPlayground starts the fakes, paylink (on a free loopback port, with an
// embedded Redis) and the page on addr, and returns once all of them take requests.
// They stop when ctx ends; Wait waits for that. dojoOpts are added to the fake Dojo's:
// the binary adds none, so it carries no spec validator; the tests add Dojo's spec
// checker, so that the fake refuses what Dojo refuses (demo_spec_test.go).
func startPlayground(ctx context.Context, addr string, logw io.Writer, logLevel string, dojoOpts ...dojofake.Option) (*playground, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("demo: listen on %s: %w", addr, err)
	}
	p := &playground{
		URL:           "http://" + ln.Addr().String(),
		signingSecret: randomSecret(),
		webhookSecret: randomSecret(),
		hc:            &http.Client{Timeout: 30 * time.Second},
		seen:          map[string]seen{},
		done:          make(chan error, 2),
	}
	p.pages, err = template.ParseFS(playgroundFiles, "playground/*.html")
	if err != nil {
		ln.Close()
		return nil, err
	}
	opts := []dojofake.Option{dojofake.WithAPIKey(demoDojoKey), dojofake.WithSpecErrors(func(err error) {
		fmt.Fprintln(logw, "demo:", err)
	})}
	p.dojo = dojofake.New(append(opts, dojoOpts...)...)
	p.slack = fakeslack.Start(fakeslack.WithToken(demoBotToken))

	settings := map[string]string{
		"PAYLINK_LISTEN":       "127.0.0.1:0",
		"SLACK_SIGNING_SECRET": p.signingSecret,
		"SLACK_BOT_TOKEN":      demoBotToken,
		"SLACK_API_URL":        p.slack.APIURL(),
		"DOJO_API_KEY":         demoDojoKey,
		"DOJO_API_URL":         p.dojo.URL,
		"DOJO_WEBHOOK_SECRET":  p.webhookSecret,
		"DOJO_CHECKOUT_URL":    p.URL + "/checkout/",
		"PAYLINK_RATE_LIMIT":   "off",
		"LOG_LEVEL":            logLevel,
	}
	started := make(chan net.Addr, 1)
	served := make(chan error, 1)
	go func() {
		lookup := func(name string) (string, bool) { v, ok := settings[name]; return v, ok }
		served <- serveWith(ctx, lookup, logw, func(a net.Addr) { started <- a })
	}()
	select {
	case a := <-started:
		p.paylinkURL = "http://" + a.String()
	case err := <-served:
		ln.Close()
		p.closeFakes()
		return nil, fmt.Errorf("demo: paylink did not start: %w", err)
	}

	p.srv = &http.Server{Handler: p.routes(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		err := p.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		p.done <- err
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p.srv.Shutdown(sctx)
		p.done <- <-served
		p.closeFakes()
	}()
	return p, nil
}

// Wait waits until the playground has stopped, after its context ended.
func (p *playground) Wait() error {
	return errors.Join(<-p.done, <-p.done)
}

func (p *playground) closeFakes() {
	if p.dojo != nil {
		p.dojo.Close()
	}
	if p.slack != nil {
		p.slack.Close()
	}
}

func randomSecret() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// routes lists the playground's own routes; paylink's are on its own listener.
func (p *playground) routes() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(playgroundFiles, "playground")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", p.index)
	mux.HandleFunc("GET /api/state", p.state)
	mux.HandleFunc("POST /api/command", p.command)
	mux.HandleFunc("POST /api/action", p.action)
	mux.HandleFunc("POST /api/submit", p.submit)
	mux.HandleFunc("POST /api/close", p.closeView)
	mux.HandleFunc("GET /checkout/{id}", p.checkout)
	mux.HandleFunc("POST /checkout/{id}", p.checkoutAction)
	return mux
}

func (p *playground) index(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	p.pages.ExecuteTemplate(w, "index.html", map[string]string{
		"Team": demoTeamDomain, "Channel": demoChannelName, "User": demoUserName,
	})
}

// seen is when the page first showed an item, and in which place.
type seen struct {
	order int
	at    time.Time
}

// first returns the place of key in what the page shows and when it first showed
// it, giving it the next place the first time. The fake Slack's ts values count up
// from its start, so they tell the order of messages but not the time. Call with
// p.mu held.
func (p *playground) first(key string) (int, int64) {
	s, ok := p.seen[key]
	if !ok {
		p.seq++
		s = seen{order: p.seq, at: time.Now()}
		p.seen[key] = s
	}
	return s.order, s.at.UnixMilli()
}

// demoItem is one thing the channel shows.
type demoItem struct {
	Kind    string          `json:"kind"` // message, ephemeral, dm, typed
	Key     string          `json:"key"`
	Channel string          `json:"channel,omitempty"`
	TS      string          `json:"ts,omitempty"`
	Time    int64           `json:"time"` // Unix milliseconds
	Text    string          `json:"text"`
	Blocks  json.RawMessage `json:"blocks,omitempty"`
	Edited  bool            `json:"edited,omitempty"`
	Source  string          `json:"source,omitempty"` // how it came: chat.postMessage, response_url, reply
	Error   string          `json:"error,omitempty"`
	Replies []demoItem      `json:"replies,omitempty"`
	order   int
}

type demoState struct {
	Items []demoItem        `json:"items"`
	View  *demoView         `json:"view"`
	Names map[string]string `json:"names"`
	Calls map[string]int    `json:"calls"` // Web API calls by method, for the curious
}

type demoView struct {
	Index int             `json:"index"`
	View  json.RawMessage `json:"view"`
}

// state is everything the page shows now, gathered from the fake Slack.
func (p *playground) state(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var items []demoItem
	for _, c := range p.typed {
		n, _ := p.first(c.Key)
		items = append(items, demoItem{Kind: "typed", Key: c.Key, Text: c.Text, Time: c.At.UnixMilli(), Error: c.Error, order: n})
		if c.Reply != nil {
			k := c.Key + "/reply"
			n, _ := p.first(k)
			items = append(items, demoItem{Kind: "ephemeral", Key: k, Text: c.Reply.Text, Blocks: nullIfEmpty(c.Reply.Blocks), Time: c.At.UnixMilli(), Source: "reply", order: n})
		}
	}
	for _, name := range p.responses {
		for i, rc := range p.slack.Responses(name) {
			k := fmt.Sprintf("%s/%d", name, i)
			kind := "ephemeral"
			if rc.ResponseType == "in_channel" {
				kind = "message"
			}
			n, at := p.first(k)
			items = append(items, demoItem{Kind: kind, Key: k, Text: rc.Text, Blocks: nullIfEmpty(rc.Blocks), Time: at, Source: "response_url", order: n})
		}
	}
	for _, ch := range []string{demoChannel, demoUser} {
		byTS := map[string]int{}
		var top []demoItem
		msgs := p.slack.Messages(ch)
		for _, m := range msgs {
			if m.ThreadTS != "" {
				continue
			}
			kind := "message"
			if ch == demoUser {
				kind = "dm"
			}
			k := ch + "/" + m.TS
			byTS[m.TS] = len(top)
			n, at := p.first(k)
			top = append(top, demoItem{Kind: kind, Key: k, Channel: ch, TS: m.TS, Time: at, Text: m.Text, Blocks: nullIfEmpty(m.Blocks), Edited: m.Updates > 0, Source: "chat.postMessage", order: n})
		}
		for _, m := range msgs {
			if m.ThreadTS == "" {
				continue
			}
			reply := demoItem{Kind: "message", Key: ch + "/" + m.TS, Channel: ch, TS: m.TS, Text: m.Text, Blocks: nullIfEmpty(m.Blocks), Edited: m.Updates > 0, Source: "chat.postMessage"}
			reply.order, reply.Time = p.first(reply.Key)
			if i, ok := byTS[m.ThreadTS]; ok {
				top[i].Replies = append(top[i].Replies, reply)
				continue
			}
			top = append(top, reply)
		}
		items = append(items, top...)
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].order < items[j].order })

	st := demoState{Items: items, Names: map[string]string{demoUser: demoUserName, demoChannel: demoChannelName, "UBOT": "paylink"}, Calls: map[string]int{}}
	opens := 0
	for _, c := range p.slack.AllCalls() {
		st.Calls[c.Method]++
		if c.Method != "views.open" || c.Failed != "" {
			continue
		}
		if opens >= p.viewsShut {
			st.View = &demoView{Index: opens, View: json.RawMessage(c.Params.Get("view"))}
		}
		opens++
	}
	if st.Items == nil {
		st.Items = []demoItem{}
	}
	writeDemoJSON(w, http.StatusOK, st)
}

func nullIfEmpty(b json.RawMessage) json.RawMessage {
	if s := strings.TrimSpace(string(b)); s == "" || s == "null" {
		return nil
	}
	return b
}

func writeDemoJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// newResponseURL hands out a response_url of the fake Slack for one request.
func (p *playground) newResponseURL(kind string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	name := fmt.Sprintf("%s-%d", kind, len(p.responses)+1)
	p.responses = append(p.responses, name)
	return p.slack.ResponseURL(name)
}

// signedPost sends body to paylink's path signed as Slack signs it.
func (p *playground) signedPost(ctx context.Context, path string, form url.Values) (int, http.Header, []byte, error) {
	body := form.Encode()
	ts, sig := bot.SignSlackRequest(p.signingSecret, time.Now(), []byte(body))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.paylinkURL+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", sig)
	resp, err := p.hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, resp.Header, b, nil
}

// command sends what the agent typed as Slack sends a slash command.
func (p *playground) command(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Text string `json:"text"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&in); err != nil {
		writeDemoJSON(w, http.StatusBadRequest, map[string]string{"error": "send {\"text\": \"/paylink …\"}"})
		return
	}
	text := strings.TrimSpace(in.Text)
	rest, ok := strings.CutPrefix(text, "/paylink")
	if !ok || rest != "" && rest[0] != ' ' {
		writeDemoJSON(w, http.StatusBadRequest, map[string]string{"error": "Only /paylink works here: try /paylink 10.00 GBP ref-123"})
		return
	}
	// Slack escapes &, < and > in the text it sends.
	slackText := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(strings.TrimSpace(rest))
	form := url.Values{
		"token":        {"playground"},
		"team_id":      {demoTeam},
		"team_domain":  {demoTeamDomain},
		"channel_id":   {demoChannel},
		"channel_name": {demoChannelName},
		"user_id":      {demoUser},
		"user_name":    {demoUserName},
		"command":      {"/paylink"},
		"text":         {slackText},
		"api_app_id":   {"A0PLAYGRD"},
		"response_url": {p.newResponseURL("command")},
		"trigger_id":   {fmt.Sprintf("%d.%s", time.Now().UnixNano(), randomSecret()[:12])},
	}
	status, header, body, err := p.signedPost(r.Context(), bot.PathCommands, form)
	c := typedCommand{Text: text, At: time.Now()}
	switch {
	case err != nil:
		c.Error = "paylink did not answer: " + err.Error()
	case status != http.StatusOK:
		c.Error = fmt.Sprintf("paylink answered HTTP %d: %s", status, strings.TrimSpace(string(body)))
	case len(strings.TrimSpace(string(body))) > 0:
		var reply fakeslack.ResponseCall
		if strings.HasPrefix(header.Get("Content-Type"), "application/json") && json.Unmarshal(body, &reply) == nil {
			c.Reply = &reply
		} else {
			c.Reply = &fakeslack.ResponseCall{ResponseType: "ephemeral", Text: string(body)}
		}
	}
	p.mu.Lock()
	c.Key = fmt.Sprintf("typed-%d", len(p.typed)+1)
	p.typed = append(p.typed, c)
	p.mu.Unlock()
	writeDemoJSON(w, http.StatusOK, map[string]any{"status": status, "error": c.Error})
}

// action sends a button press as Slack sends a block_actions interaction.
func (p *playground) action(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Channel   string `json:"channel"`
		TS        string `json:"ts"`
		Ephemeral bool   `json:"ephemeral"`
		ActionID  string `json:"action_id"`
		BlockID   string `json:"block_id"`
		Value     string `json:"value"`
		Text      string `json:"text"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&in); err != nil || in.ActionID == "" {
		writeDemoJSON(w, http.StatusBadRequest, map[string]string{"error": "malformed action"})
		return
	}
	if in.Channel == "" {
		in.Channel = demoChannel
	}
	container := map[string]any{"type": "message", "channel_id": in.Channel, "is_ephemeral": in.Ephemeral}
	if in.TS != "" {
		container["message_ts"] = in.TS
	}
	payload := map[string]any{
		"type":         "block_actions",
		"user":         map[string]any{"id": demoUser, "username": demoUserName, "name": demoUserName, "team_id": demoTeam},
		"api_app_id":   "A0PLAYGRD",
		"token":        "playground",
		"container":    container,
		"trigger_id":   fmt.Sprintf("%d.%s", time.Now().UnixNano(), randomSecret()[:12]),
		"team":         map[string]any{"id": demoTeam, "domain": demoTeamDomain},
		"channel":      map[string]any{"id": in.Channel, "name": demoChannelName},
		"response_url": p.newResponseURL("action"),
		"actions": []map[string]any{{
			"action_id": in.ActionID, "block_id": in.BlockID, "value": in.Value, "type": "button",
			"text":      map[string]any{"type": "plain_text", "text": in.Text},
			"action_ts": fmt.Sprintf("%d.%06d", time.Now().Unix(), time.Now().Nanosecond()/1000),
		}},
	}
	if in.TS != "" {
		payload["message"] = map[string]any{"type": "message", "ts": in.TS, "text": ""}
	}
	p.interact(w, r, payload)
}

// interact sends payload to /slack/interactions and passes paylink's answer on.
func (p *playground) interact(w http.ResponseWriter, r *http.Request, payload any) {
	b, _ := json.Marshal(payload)
	status, _, body, err := p.signedPost(r.Context(), bot.PathInteractions, url.Values{"payload": {string(b)}})
	if err != nil {
		writeDemoJSON(w, http.StatusBadGateway, map[string]string{"error": "paylink did not answer: " + err.Error()})
		return
	}
	out := map[string]any{"status": status}
	if json.Valid(body) {
		out["answer"] = json.RawMessage(body)
	} else if s := strings.TrimSpace(string(body)); s != "" {
		out["error"] = s
	}
	writeDemoJSON(w, http.StatusOK, out)
}

// submit sends the form as Slack sends a view_submission; a clean submission closes it.
func (p *playground) submit(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Index  int               `json:"index"`
		Values map[string]string `json:"values"` // block id → value
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&in); err != nil {
		writeDemoJSON(w, http.StatusBadRequest, map[string]string{"error": "malformed form"})
		return
	}
	view, ok := p.view(in.Index)
	if !ok {
		writeDemoJSON(w, http.StatusNotFound, map[string]string{"error": "no such form"})
		return
	}
	var v struct {
		CallbackID      string `json:"callback_id"`
		PrivateMetadata string `json:"private_metadata"`
		Blocks          []struct {
			BlockID string `json:"block_id"`
			Element struct {
				Type     string `json:"type"`
				ActionID string `json:"action_id"`
				Options  []struct {
					Text  map[string]any `json:"text"`
					Value string         `json:"value"`
				} `json:"options"`
			} `json:"element"`
		} `json:"blocks"`
	}
	json.Unmarshal(view, &v)
	values := map[string]any{}
	for _, b := range v.Blocks {
		if b.BlockID == "" || b.Element.ActionID == "" {
			continue
		}
		val := in.Values[b.BlockID]
		var state map[string]any
		if b.Element.Type == "static_select" {
			var selected any
			for _, o := range b.Element.Options {
				if o.Value == val && val != "" {
					selected = map[string]any{"text": o.Text, "value": o.Value}
				}
			}
			state = map[string]any{"type": "static_select", "selected_option": selected}
		} else {
			var value any
			if val != "" {
				value = val
			}
			state = map[string]any{"type": b.Element.Type, "value": value}
		}
		values[b.BlockID] = map[string]any{b.Element.ActionID: state}
	}
	payload := map[string]any{
		"type":       "view_submission",
		"team":       map[string]any{"id": demoTeam, "domain": demoTeamDomain},
		"user":       map[string]any{"id": demoUser, "username": demoUserName, "name": demoUserName, "team_id": demoTeam},
		"api_app_id": "A0PLAYGRD",
		"token":      "playground",
		"trigger_id": fmt.Sprintf("%d.%s", time.Now().UnixNano(), randomSecret()[:12]),
		"view": map[string]any{
			"id": fmt.Sprintf("V%08d", in.Index+1), "team_id": demoTeam, "type": "modal",
			"callback_id": v.CallbackID, "private_metadata": v.PrivateMetadata, "hash": randomSecret()[:12],
			"state": map[string]any{"values": values},
		},
	}
	b, _ := json.Marshal(payload)
	status, _, body, err := p.signedPost(r.Context(), bot.PathInteractions, url.Values{"payload": {string(b)}})
	if err != nil {
		writeDemoJSON(w, http.StatusBadGateway, map[string]string{"error": "paylink did not answer: " + err.Error()})
		return
	}
	var answer struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
	}
	if json.Unmarshal(body, &answer) == nil && answer.ResponseAction == "errors" {
		writeDemoJSON(w, http.StatusOK, map[string]any{"status": status, "errors": answer.Errors})
		return
	}
	if status == http.StatusOK {
		p.shut(in.Index)
	}
	writeDemoJSON(w, http.StatusOK, map[string]any{"status": status})
}

// closeView dismisses the form, as its Cancel button does in Slack (paylink is not
// told: it asks for no view_closed events).
func (p *playground) closeView(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Index int `json:"index"`
	}
	json.NewDecoder(io.LimitReader(r.Body, 4<<10)).Decode(&in)
	p.shut(in.Index)
	writeDemoJSON(w, http.StatusOK, map[string]any{})
}

func (p *playground) shut(index int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.viewsShut = max(p.viewsShut, index+1)
}

// view returns the view of the index-th views.open call.
func (p *playground) view(index int) (json.RawMessage, bool) {
	n := 0
	for _, c := range p.slack.Calls("views.open") {
		if c.Failed != "" {
			continue
		}
		if n == index {
			return json.RawMessage(c.Params.Get("view")), true
		}
		n++
	}
	return nil, false
}

// checkoutPage is what the fake checkout shows.
type checkoutPage struct {
	ID, Amount, Reference, Description, Status, Message string
	Open, Paid                                          bool
}

// checkout shows the customer's page for an intent, as Dojo's hosted checkout would.
func (p *playground) checkout(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	pi, ok := p.dojo.Intent(id)
	if !ok {
		http.Error(w, "This payment link does not exist.", http.StatusNotFound)
		return
	}
	page := checkoutPage{
		ID: pi.ID, Amount: pi.Amount.String(), Reference: pi.Reference, Description: pi.Description,
		Status: string(pi.Status), Open: payable(pi), Paid: pi.Status == dojo.StatusCaptured,
		Message: r.URL.Query().Get("m"),
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	p.pages.ExecuteTemplate(w, "checkout.html", page)
}

// payable reports whether a customer could still pay the intent.
func payable(pi dojo.PaymentIntent) bool {
	return pi.Status == dojo.StatusCreated && (pi.ExpireAt == nil || pi.ExpireAt.After(time.Now()))
}

// checkoutAction is the customer paying, or their card being declined. Paying
// captures the intent at the fake Dojo and sends Dojo's signed webhook to paylink; a
// decline leaves the intent open, as at Dojo, and tells paylink nothing.
func (p *playground) checkoutAction(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	pi, ok := p.dojo.Intent(id)
	if !ok {
		http.Error(w, "This payment link does not exist.", http.StatusNotFound)
		return
	}
	var msg string
	switch {
	case !payable(pi):
		msg = "This link can no longer be paid (it is " + string(pi.Status) + ")."
	case r.FormValue("action") == "decline":
		msg = "Card declined. Nothing was taken; the link stays open, and paylink hears nothing of it."
	case r.FormValue("action") == "pay":
		p.dojo.SetStatus(id, dojo.StatusCaptured)
		status, err := dojofake.SendWebhook(r.Context(), p.paylinkURL+bot.PathDojoWebhooks, p.webhookSecret, dojofake.Event(id, dojo.StatusCaptured))
		if err != nil {
			msg = "Paid. Dojo's webhook did not reach paylink: " + err.Error()
		} else {
			msg = fmt.Sprintf("Paid. Dojo's signed webhook went to paylink, which answered HTTP %d.", status)
		}
	default:
		msg = "Choose Pay or Decline."
	}
	http.Redirect(w, r, "/checkout/"+url.PathEscape(id)+"?m="+url.QueryEscape(msg), http.StatusSeeOther)
}
