package dojofake

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/paylink/paylink/dojo"
)

// webhookState is the fake's webhook subscriptions, guarded by Server.mu.
type webhookState struct {
	subs  map[string]*dojo.Subscription
	order []string // subscription ids in creation order

	// noSecretOnSubscribe makes POST /webhooks answer without secrets, so a client
	// must list or generate them.
	noSecretOnSubscribe bool
}

// WithoutWebhookSecretOnSubscribe makes new subscriptions start with no secret: the
// subscribe answer carries none and GET …/secrets lists none until one is generated.
func WithoutWebhookSecretOnSubscribe() Option {
	return func(s *Server) { s.hooks.noSecretOnSubscribe = true }
}

// Subscriptions returns the webhook subscriptions created so far, oldest first, as
// they are now.
func (s *Server) Subscriptions() []dojo.Subscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]dojo.Subscription, 0, len(s.hooks.order))
	for _, id := range s.hooks.order {
		out = append(out, copySubscription(s.hooks.subs[id]))
	}
	return out
}

var (
	webhookSecretsPath  = regexp.MustCompile(`^/webhooks/([A-Za-z0-9_-]+)/secrets$`)
	webhookActivatePath = regexp.MustCompile(`^/webhooks/([A-Za-z0-9_-]+)/secrets/([A-Za-z0-9_-]+)/activate$`)
	httpsURL            = regexp.MustCompile(`^https://*.+`) // Dojo's own pattern for SubscriptionRequest.url
)

// webhooks serves the webhook-management API: subscribe, list and generate secrets,
// activate a secret.
func (s *Server) webhooks(w http.ResponseWriter, r *http.Request, body []byte) {
	p := r.URL.Path
	switch {
	case r.Method == http.MethodPost && p == "/webhooks":
		s.subscribe(w, body)
	case r.Method == http.MethodGet && webhookSecretsPath.MatchString(p):
		s.listSecrets(w, webhookSecretsPath.FindStringSubmatch(p)[1])
	case r.Method == http.MethodPost && webhookSecretsPath.MatchString(p):
		s.generateSecret(w, webhookSecretsPath.FindStringSubmatch(p)[1])
	case r.Method == http.MethodPut && webhookActivatePath.MatchString(p):
		m := webhookActivatePath.FindStringSubmatch(p)
		s.activateSecret(w, m[1], m[2])
	default:
		problem(w, http.StatusNotFound, "Not Found", "", nil)
	}
}

func (s *Server) subscribe(w http.ResponseWriter, body []byte) {
	var req struct {
		Events      []string `json:"events"`
		URL         *string  `json:"url"`
		Description *string  `json:"description"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		problem(w, http.StatusBadRequest, "One or more validation errors occurred.", "", map[string][]string{"$": {"The JSON value could not be converted."}})
		return
	}
	errs := map[string][]string{}
	if len(req.Events) == 0 {
		errs["Events"] = []string{"The Events field is required."}
	}
	for _, e := range req.Events {
		if strings.TrimSpace(e) == "" {
			errs["Events"] = []string{"An event name is empty."}
		}
	}
	switch {
	case req.URL == nil || *req.URL == "":
		errs["Url"] = []string{"The Url field is required."}
	case !httpsURL.MatchString(*req.URL) || !absoluteURL(*req.URL):
		errs["Url"] = []string{"The field Url must match the regular expression '^https://*.+'."}
	}
	if len(errs) > 0 {
		problem(w, http.StatusBadRequest, "One or more validation errors occurred.", "", errs)
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	// Dojo allows one subscription per event.
	for _, id := range s.hooks.order {
		for _, have := range s.hooks.subs[id].Events {
			for _, want := range req.Events {
				if have == want {
					problem(w, http.StatusConflict, "Conflict", "A subscription for the event "+want+" already exists.", nil)
					return
				}
			}
		}
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	sub := &dojo.Subscription{
		ID:        "ws_" + randomID(),
		AccountID: "acc_test",
		Events:    append([]string(nil), req.Events...),
		URL:       *req.URL,
		CreatedAt: now,
		UpdatedAt: now,
	}
	if req.Description != nil {
		sub.Description = *req.Description
	}
	if !s.hooks.noSecretOnSubscribe {
		sub.Secrets = []dojo.SubscriptionSecret{newSecret(true)}
	}
	if s.hooks.subs == nil {
		s.hooks.subs = map[string]*dojo.Subscription{}
	}
	s.hooks.subs[sub.ID] = sub
	s.hooks.order = append(s.hooks.order, sub.ID)
	writeJSON(w, http.StatusOK, copySubscription(sub))
}

func (s *Server) listSecrets(w http.ResponseWriter, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.hooks.subs[id]
	if !ok {
		problem(w, http.StatusNotFound, "Not Found", "Subscription not found.", nil)
		return
	}
	writeJSON(w, http.StatusOK, dojo.SecretsResponse{ID: sub.ID, Secrets: secretsOrEmpty(sub.Secrets)})
}

// generateSecret adds a secret. It is active when the subscription has no active
// secret; otherwise it waits to be activated, as in a rotation.
func (s *Server) generateSecret(w http.ResponseWriter, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.hooks.subs[id]
	if !ok {
		problem(w, http.StatusNotFound, "Not Found", "Subscription not found.", nil)
		return
	}
	sub.Secrets = append(sub.Secrets, newSecret(len(dojo.ActiveSecrets(sub.Secrets)) == 0))
	sub.UpdatedAt = time.Now().UTC().Format(time.RFC3339Nano)
	// Dojo's example answer to this call carries no subscription id.
	writeJSON(w, http.StatusOK, dojo.SecretsResponse{Secrets: secretsOrEmpty(sub.Secrets)})
}

func (s *Server) activateSecret(w http.ResponseWriter, id, secretID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.hooks.subs[id]
	if !ok {
		problem(w, http.StatusNotFound, "Not Found", "Subscription not found.", nil)
		return
	}
	for i := range sub.Secrets {
		if sub.Secrets[i].ID == secretID {
			sub.Secrets[i].IsActive = true
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	problem(w, http.StatusNotFound, "Not Found", "Secret not found.", nil)
}

func newSecret(active bool) dojo.SubscriptionSecret {
	return dojo.SubscriptionSecret{
		ID:        "sc_" + randomID(),
		Value:     randomID() + randomID(),
		CreatedAt: time.Now().UTC().Format("2006-01-02T15:04:05"), // no zone, as in Dojo's examples
		IsActive:  active,
	}
}

func absoluteURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Scheme == "https" && u.Host != ""
}

func secretsOrEmpty(in []dojo.SubscriptionSecret) []dojo.SubscriptionSecret {
	if in == nil {
		return []dojo.SubscriptionSecret{}
	}
	return append([]dojo.SubscriptionSecret(nil), in...)
}

func copySubscription(sub *dojo.Subscription) dojo.Subscription {
	out := *sub
	out.Events = append([]string(nil), sub.Events...)
	out.Secrets = append([]dojo.SubscriptionSecret(nil), sub.Secrets...)
	return out
}
