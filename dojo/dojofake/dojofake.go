// Package dojofake is a fake Dojo API. It speaks Dojo's documented wire format (Basic
// key auth, the version header, JSON bodies, RFC 7807 errors), keeps payment intents
// in memory, and records every request it receives. It can be made slow or made to
// fail, and it can sign and send webhooks as Dojo does.
//
// On its own it checks no request or answer against Dojo's OpenAPI spec, so a program
// that runs it (paylink demo) does not carry a spec validator. Given a Checker
// (WithChecker) it is as strict as the checker: a request the checker refuses is
// refused with 400, as Dojo refuses it, and an answer of its own that the checker
// refuses is reported (WithSpecErrors). Package dojotest is this fake with Dojo's spec
// as the checker, for tests.
package dojofake

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf16"

	"github.com/paylink/paylink/dojo"
)

// Request is one request the fake received.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
}

// Server is a fake Dojo API.
type Server struct {
	*httptest.Server
	errorf  func(format string, args ...any) // reports an answer of its own that breaks the spec
	checker Checker                          // nil: nothing is checked
	key     string
	version string

	mu       sync.Mutex
	requests []Request
	intents  map[string]*dojo.PaymentIntent
	events   map[string][]paymentEvent // by intent id: the card events behind its status
	order    []string                  // intent ids in creation order
	refunds  map[string]dojo.Refund
	latency  time.Duration
	failures []failure
	hooks    webhookState
	held     chan struct{}   // while not nil, answers wait until it is closed
	late     []chan struct{} // the next requests act at once, and answer when these close
	lateAll  []func()        // every release AnswerLate handed out, for Close
}

type failure struct {
	status int
	body   string
}

// Option configures a Server.
type Option func(*Server)

// WithAPIKey sets the only API key the fake accepts (default "sk_sandbox_test").
func WithAPIKey(key string) Option { return func(s *Server) { s.key = key } }

// Checker checks requests to the fake, and the fake's own answers, against Dojo's API
// description (package dojotest's checks them against Dojo's OpenAPI spec). It is
// called from the server's goroutines, concurrently.
type Checker interface {
	// Route reports whether r names an operation of the API.
	Route(r *http.Request) bool
	// CheckRequest checks r, whose body is given separately, and returns the problems
	// found, by field as Dojo names them, or nil.
	CheckRequest(r *http.Request, body []byte) map[string][]string
	// CheckResponse checks an answer to r; nil when it conforms, or when the API has no
	// operation for r.
	CheckResponse(r *http.Request, status int, header http.Header, body []byte) error
}

// WithChecker has every request, and every answer of the fake's own, checked by c: a
// request for no operation c knows is answered 404, one c refuses 400 with c's
// problems, and an answer c refuses is reported to the function given with
// WithSpecErrors.
func WithChecker(c Checker) Option { return func(s *Server) { s.checker = c } }

// New starts a fake Dojo; Close stops it. With no Checker (WithChecker) it checks
// nothing against Dojo's spec.
func New(opts ...Option) *Server {
	s := &Server{
		errorf:  func(string, ...any) {},
		key:     "sk_sandbox_test",
		version: dojo.DefaultVersion,
		intents: map[string]*dojo.PaymentIntent{},
		events:  map[string][]paymentEvent{},
		refunds: map[string]dojo.Refund{},
	}
	for _, o := range opts {
		o(s)
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// WithSpecErrors has report called with every answer of the fake's own that the
// Checker (WithChecker) refuses; with no Checker it is never called.
func WithSpecErrors(report func(error)) Option {
	return func(s *Server) { s.errorf = func(format string, args ...any) { report(fmt.Errorf(format, args...)) } }
}

// Close releases every held answer and stops the server.
func (s *Server) Close() {
	s.release()
	s.mu.Lock()
	late := s.lateAll
	s.mu.Unlock()
	for _, release := range late {
		release()
	}
	s.Server.Close()
}

// Requests returns every API request received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Created returns the payment intents created so far, oldest first, as they are now.
func (s *Server) Created() []dojo.PaymentIntent {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]dojo.PaymentIntent, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, *s.intents[id])
	}
	return out
}

// Intent returns the intent with id as it is now.
func (s *Server) Intent(id string) (dojo.PaymentIntent, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pi, ok := s.intents[id]
	if !ok {
		return dojo.PaymentIntent{}, false
	}
	return *pi, true
}

// SetLatency delays every answer by d (a slow Dojo). Requests whose client gives up
// first are still recorded, and still take effect, as a real server's would.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// Hold makes the fake take requests, and record them, but answer none until release is
// called: a Dojo that has not answered yet, for as long as the caller needs. Close
// releases it too.
func (s *Server) Hold() (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held == nil {
		s.held = make(chan struct{})
	}
	return s.release
}

func (s *Server) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held != nil {
		close(s.held)
		s.held = nil
	}
}

// AnswerLate makes the next request take effect at once but hold its answer until
// release is called (or Close): a Dojo that has acted, and whose answer comes
// after the caller has given up.
func (s *Server) AnswerLate() (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	gate := make(chan struct{})
	s.late = append(s.late, gate)
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	s.lateAll = append(s.lateAll, release)
	return release
}

// FailNext makes the next n requests fail with status and body, as Dojo or anything
// in front of it might: the body is sent as it is (as application/json when it is
// JSON), and neither it nor the status is checked against the spec.
func (s *Server) FailNext(n, status int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, failure{status: status, body: body})
	}
}

// SetStatus moves an intent to status, as a customer paying (Captured) or an operator
// acting in Dojo's dashboard would.
func (s *Server) SetStatus(id string, status dojo.Status) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	pi, ok := s.intents[id]
	if !ok {
		return false
	}
	pi.Status = status
	pi.UpdatedAt = time.Now().UTC()
	s.addEvent(id, status, pi.UpdatedAt)
	return true
}

// SetExpireAt moves an intent's expiry, as if time had passed.
func (s *Server) SetExpireAt(id string, at time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	pi, ok := s.intents[id]
	if !ok {
		return false
	}
	t := at.UTC()
	pi.ExpireAt = &t
	return true
}

// AddIntent stores an intent as if it had been created earlier.
func (s *Server) AddIntent(pi dojo.PaymentIntent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp := pi
	s.intents[pi.ID] = &cp
	s.order = append(s.order, pi.ID)
}

// Event returns a webhook body for the intent's status change, as Dojo sends it.
func Event(intentID string, status dojo.Status) []byte {
	b, _ := json.Marshal(dojo.NewStatusEvent(intentID, status, time.Now()))
	return b
}

// SendWebhook POSTs body to url signed with secret, as Dojo delivers it, and returns
// the status code.
func SendWebhook(ctx context.Context, target, secret string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(dojo.SignatureHeader, dojo.SignWebhook(secret, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

var (
	intentPath  = regexp.MustCompile(`^/payment-intents/([A-Za-z0-9_-]+)$`)
	refundPath  = regexp.MustCompile(`^/payment-intents/([A-Za-z0-9_-]+)/refunds$`)
	reversePath = regexp.MustCompile(`^/payment-intents/([A-Za-z0-9_-]+)/reversal$`)
	datePat     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body})
	latency, held := s.latency, s.held
	var late chan struct{}
	if len(s.late) > 0 {
		late, s.late = s.late[0], s.late[1:]
	}
	var fail *failure
	if len(s.failures) > 0 {
		f := s.failures[0]
		s.failures = s.failures[1:]
		fail = &f
	}
	s.mu.Unlock()

	if late != nil {
		rec := httptest.NewRecorder()
		defer func() {
			<-late
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
		}()
		w = rec
	}
	if held != nil {
		<-held
	}
	if latency > 0 {
		time.Sleep(latency)
	}
	if fail != nil {
		ct := "text/plain; charset=utf-8"
		if json.Valid([]byte(fail.body)) {
			ct = "application/json; charset=utf-8"
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(fail.status)
		io.WriteString(w, fail.body)
		return
	}
	rec := httptest.NewRecorder()
	s.handle(rec, r, body)
	if s.checker != nil {
		if err := s.checker.CheckResponse(r, rec.Code, rec.Header(), rec.Body.Bytes()); err != nil {
			s.errorf("dojofake: its answer to %s %s breaks Dojo's spec: %v", r.Method, r.URL.Path, err)
		}
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

// handle answers one request as Dojo would: its key, its version header, its body
// against the Checker if there is one, then the operation.
func (s *Server) handle(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Header.Get("Authorization") != "Basic "+s.key {
		problem(w, http.StatusUnauthorized, "Unauthorized", "", nil)
		return
	}
	if v := r.Header.Get("version"); !datePat.MatchString(v) {
		problem(w, http.StatusBadRequest, "One or more validation errors occurred.", "", map[string][]string{"version": {"The version header is required."}})
		return
	}
	if len(body) > 0 && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		problem(w, http.StatusUnsupportedMediaType, "Unsupported Media Type", "", nil)
		return
	}
	if s.checker != nil {
		if !s.checker.Route(r) {
			problem(w, http.StatusNotFound, "Not Found", "", nil)
			return
		}
		if errs := s.checker.CheckRequest(r, body); errs != nil {
			problem(w, http.StatusBadRequest, "One or more validation errors occurred.", "", errs)
			return
		}
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/payment-intents":
		s.create(w, body)
	case r.Method == http.MethodPost && r.URL.Path == "/payment-intents/search":
		s.search(w, body)
	case r.Method == http.MethodGet && intentPath.MatchString(r.URL.Path):
		s.get(w, r, intentPath.FindStringSubmatch(r.URL.Path)[1])
	case r.Method == http.MethodDelete && intentPath.MatchString(r.URL.Path):
		s.cancel(w, intentPath.FindStringSubmatch(r.URL.Path)[1])
	case r.Method == http.MethodPost && refundPath.MatchString(r.URL.Path):
		s.refund(w, r, body, refundPath.FindStringSubmatch(r.URL.Path)[1])
	case r.Method == http.MethodPost && reversePath.MatchString(r.URL.Path):
		s.reverse(w, reversePath.FindStringSubmatch(r.URL.Path)[1])
	case r.URL.Path == "/webhooks" || strings.HasPrefix(r.URL.Path, "/webhooks/"):
		s.webhooks(w, r, body)
	default:
		problem(w, http.StatusNotFound, "Not Found", "", nil)
	}
}

func (s *Server) create(w http.ResponseWriter, body []byte) {
	var req struct {
		Amount        *dojo.Money       `json:"amount"`
		Reference     *string           `json:"reference"`
		Description   string            `json:"description"`
		PaymentSource string            `json:"paymentSource"`
		Metadata      map[string]string `json:"metadata"`
		ExpireAt      *time.Time        `json:"expireAt"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil {
		problem(w, http.StatusBadRequest, "One or more validation errors occurred.", "", map[string][]string{"$": {"The JSON value could not be converted."}})
		return
	}
	errs := map[string][]string{}
	switch {
	case req.Amount == nil:
		errs["Amount"] = []string{"The Amount field is required."}
	case req.Amount.Value <= 0:
		errs["Amount.Value"] = []string{"The field Value must be greater than 0."}
	case req.Amount.CurrencyCode != "GBP" && req.Amount.CurrencyCode != "EUR":
		errs["Amount.CurrencyCode"] = []string{"The currency code is not supported."}
	}
	if req.Reference == nil || *req.Reference == "" {
		errs["Reference"] = []string{"The Reference field is required."}
	} else if n := len(utf16.Encode([]rune(*req.Reference))); n > 60 {
		errs["Reference"] = []string{"The field Reference must be a string with a maximum length of 60."}
	}
	if n := len(utf16.Encode([]rune(req.Description))); n > 4096 {
		errs["Description"] = []string{"The field Description must be a string with a maximum length of 4096."}
	}
	if len(errs) > 0 {
		problem(w, http.StatusBadRequest, "One or more validation errors occurred.", "", errs)
		return
	}
	now := time.Now().UTC()
	expire := now.Add(30 * 24 * time.Hour)
	if req.ExpireAt != nil {
		if !req.ExpireAt.After(now) {
			problem(w, http.StatusBadRequest, "One or more validation errors occurred.", "", map[string][]string{"ExpireAt": {"The expiry must be in the future."}})
			return
		}
		expire = req.ExpireAt.UTC()
	}
	id := "pi_sandbox_" + randomID()
	total := *req.Amount
	source := req.PaymentSource
	if source == "" {
		source = "api" // what Dojo's examples show for an intent created through the API
	}
	pi := &dojo.PaymentIntent{
		ID:            id,
		Status:        dojo.StatusCreated,
		CaptureMode:   "Auto",
		Amount:        *req.Amount,
		TotalAmount:   &total,
		Reference:     *req.Reference,
		Description:   req.Description,
		PaymentSource: source,
		Metadata:      req.Metadata,
		PaymentLink:   "https://pay.dojo.tech:443/checkout/" + id,
		CreatedAt:     now,
		UpdatedAt:     now,
		ExpireAt:      &expire,
	}
	s.mu.Lock()
	s.intents[id] = pi
	s.order = append(s.order, id)
	out := s.wire(pi)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	pi, ok := s.intents[id]
	var out wireIntent
	if ok {
		out = s.wire(pi)
	}
	s.mu.Unlock()
	if !ok || out.Status == dojo.StatusCanceled && r.URL.Query().Get("returnCanceled") != "true" {
		problem(w, http.StatusNotFound, "Not Found", "Payment intent not found.", nil)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) cancel(w http.ResponseWriter, id string) {
	s.mu.Lock()
	pi, ok := s.intents[id]
	var out wireIntent
	status := http.StatusOK
	if !ok {
		status = http.StatusNotFound
	} else if pi.Status != dojo.StatusCreated {
		status = http.StatusBadRequest
		out = s.wire(pi)
	} else {
		pi.Status = dojo.StatusCanceled
		pi.UpdatedAt = time.Now().UTC()
		out = s.wire(pi)
	}
	s.mu.Unlock()
	switch status {
	case http.StatusNotFound:
		problem(w, status, "Not Found", "Payment intent not found.", nil)
	case http.StatusBadRequest:
		// Dojo's cancel answers 200, 400, 401 or 404: a refusal is a 400.
		problem(w, status, "Bad Request", fmt.Sprintf("The payment intent has status %s; only one in status Created can be canceled.", out.Status), nil)
	default:
		writeJSON(w, status, out)
	}
}

func (s *Server) search(w http.ResponseWriter, body []byte) {
	var req dojo.SearchRequest
	if err := json.Unmarshal(body, &req); err != nil {
		problem(w, http.StatusBadRequest, "One or more validation errors occurred.", "", map[string][]string{"$": {"The JSON value could not be converted."}})
		return
	}
	limit := 50
	var cur dojo.Cursor
	if req.Cursor != nil {
		cur = *req.Cursor
		if cur.Limit != 0 {
			limit = cur.Limit
		}
	}
	if cur.Before != "" && cur.After != "" {
		problem(w, http.StatusBadRequest, "One or more validation errors occurred.", "", map[string][]string{"Cursor": {"Only one of Before and After may be given."}})
		return
	}
	want := map[dojo.Status]bool{}
	for _, st := range req.Statuses {
		want[st] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []*dojo.PaymentIntent
	for _, id := range s.order {
		pi := s.intents[id]
		if len(want) > 0 && !want[pi.Status] {
			continue
		}
		if req.StartDate != nil && pi.CreatedAt.Before(*req.StartDate) || req.EndDate != nil && pi.CreatedAt.After(*req.EndDate) {
			continue
		}
		all = append(all, pi)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].CreatedAt.After(all[j].CreatedAt) })
	// Newest first. A cursor is the id of the last (after) or first (before) intent
	// of the page it came with.
	start, end := 0, min(limit, len(all))
	for i, pi := range all {
		switch {
		case cur.After != "" && pi.ID == cur.After:
			start, end = i+1, min(i+1+limit, len(all))
		case cur.Before != "" && pi.ID == cur.Before:
			start, end = max(i-limit, 0), i
		}
	}
	res := wirePage{Data: []wireIntent{}}
	for _, pi := range all[start:end] {
		res.Data = append(res.Data, s.wire(pi))
	}
	if end < len(all) && end > start {
		res.After = all[end-1].ID
	}
	if start > 0 && end > start {
		res.Before = all[start].ID
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) refund(w http.ResponseWriter, r *http.Request, body []byte, id string) {
	key := r.Header.Get("idempotencyKey")
	if key == "" || len(key) > 100 {
		problem(w, http.StatusBadRequest, "One or more validation errors occurred.", "", map[string][]string{"idempotencyKey": {"The idempotencyKey header is required."}})
		return
	}
	var req dojo.RefundRequest
	if err := json.Unmarshal(body, &req); err != nil || req.Amount <= 0 {
		problem(w, http.StatusBadRequest, "One or more validation errors occurred.", "", map[string][]string{"Amount": {"The field Amount must be greater than 0."}})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.refunds[id+"/"+key]; ok {
		writeJSON(w, http.StatusOK, prev)
		return
	}
	pi, ok := s.intents[id]
	// Dojo's refund answers 200, 400 or 401: every refusal is a 400.
	switch {
	case !ok:
		problem(w, http.StatusBadRequest, "Bad Request", "Payment intent not found.", nil)
		return
	case pi.Status != dojo.StatusCaptured && pi.Status != dojo.StatusRefunded:
		problem(w, http.StatusBadRequest, "Bad Request", "Only a captured payment can be refunded.", nil)
		return
	case pi.RefundedAmount+req.Amount > pi.Amount.Value:
		problem(w, http.StatusBadRequest, "Bad Request", "The refund amount exceeds the amount captured.", nil)
		return
	}
	pi.RefundedAmount += req.Amount
	pi.Status = dojo.StatusRefunded
	pi.UpdatedAt = time.Now().UTC()
	s.addEvent(id, dojo.StatusRefunded, pi.UpdatedAt)
	ref := dojo.Refund{PaymentIntentID: id, RefundID: "rfnd_" + randomID(), RefundReason: req.RefundReason, Notes: req.Notes}
	s.refunds[id+"/"+key] = ref
	writeJSON(w, http.StatusOK, ref)
}

// reverse reverses a paid intent as Dojo does: the whole amount, nothing refunded yet,
// on the calendar day (in the UK) it was paid.
func (s *Server) reverse(w http.ResponseWriter, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pi, ok := s.intents[id]
	// Dojo's reversal answers 200, 400, 401 or 409.
	switch {
	case !ok:
		problem(w, http.StatusBadRequest, "Bad Request", "Payment intent not found.", nil)
		return
	case pi.Status != dojo.StatusCaptured || pi.RefundedAmount > 0:
		problem(w, http.StatusConflict, "Conflict", fmt.Sprintf("The payment intent has status %s; only a captured payment with nothing refunded can be reversed.", pi.Status), nil)
		return
	case !sameDay(s.paidAt(id), time.Now()):
		problem(w, http.StatusBadRequest, "Bad Request", "Reversals can only be actioned on the same calendar day as the original payment.", nil)
		return
	}
	pi.Status = dojo.StatusReversed
	pi.UpdatedAt = time.Now().UTC()
	s.addEvent(id, dojo.StatusReversed, pi.UpdatedAt)
	writeJSON(w, http.StatusOK, dojo.Reversal{ReversalID: "rvs_" + randomID(), Message: "Reversal processed."})
}

// paidAt is when id was captured, from its card events. Call with s.mu held.
func (s *Server) paidAt(id string) time.Time {
	for _, e := range s.events[id] {
		if e.EventType == string(dojo.StatusCaptured) {
			t, _ := time.Parse(time.RFC3339Nano, e.TransactionDateTime)
			return t
		}
	}
	return time.Time{}
}

// SetPaidAt moves the time an intent was captured, as if it had been paid then.
func (s *Server) SetPaidAt(id string, at time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, e := range s.events[id] {
		if e.EventType == string(dojo.StatusCaptured) {
			s.events[id][i].TransactionDateTime = at.UTC().Format(time.RFC3339Nano)
			return true
		}
	}
	return false
}

// sameDay reports whether a and b fall on the same calendar day in the UK, where
// Dojo settles (in UTC where the zone database is missing).
func sameDay(a, b time.Time) bool {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		loc = time.UTC
	}
	ay, am, ad := a.In(loc).Date()
	by, bm, bd := b.In(loc).Date()
	return ay == by && am == bm && ad == bd
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// problem answers with an RFC 7807 body shaped like Dojo's.
func problem(w http.ResponseWriter, status int, title, detail string, errs map[string][]string) {
	p := map[string]any{
		"type":    "https://tools.ietf.org/html/rfc7231",
		"title":   title,
		"status":  status,
		"traceId": fmt.Sprintf("00-%s-%s-01", randomHex(16), randomHex(8)),
	}
	if detail != "" {
		p["detail"] = detail
	}
	if errs != nil {
		p["errors"] = errs
	}
	// Dojo's spec gives application/json for every error, not application/problem+json.
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(p)
}

// randomID returns 22 base64url characters (16 random bytes), like Dojo's ids.
func randomID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return fmt.Sprintf("%x", b)
}
