package dojotest

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/paylink/paylink/dojo/dojofake"
)

// specJSON is Dojo's OpenAPI spec, version 2026-02-27 (testdata/README.md says where
// it comes from).
//
//go:embed testdata/dojo-api.json
var specJSON []byte

// spec is Dojo's API as the fake checks it: the spec's own schemas, with the
// amendments listed in amendSpec. It is the fake's dojofake.Checker.
type spec struct {
	doc    *openapi3.T
	router routers.Router
}

var _ dojofake.Checker = (*spec)(nil)

// loadSpec parses the embedded spec once per test binary: it is large, and never
// changes.
var loadSpec = sync.OnceValues(func() (*spec, error) { return parseSpec(specJSON, true) })

// parseSpec parses an OpenAPI document, amended (see amendSpec) when amend is set.
func parseSpec(data []byte, amend bool) (*spec, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("dojotest: load the spec: %w", err)
	}
	if amend {
		if err := amendSpec(doc); err != nil {
			return nil, err
		}
	}
	// Routes match the fake's own address, not https://api.dojo.tech.
	doc.Servers = nil
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("dojotest: route the spec: %w", err)
	}
	return &spec{doc: doc, router: router}, nil
}

// amendSpec changes the loaded spec where it is known to differ from what Dojo does.
// Each change is as narrow as the evidence:
//   - CreatePaymentIntentRequest gains paymentSource: Dojo's payment-links guide tells
//     integrations to send "paymentSource": "payment-links", though the schema (which
//     allows no other properties) lacks it.
//   - PaymentIntent gains paymentSource and paymentEvents (items shaped like the
//     examples', eventType from the spec's own paymentEventType), and
//     PaymentIntentConfigResponse gains branding and tradingName: every example answer
//     carries them, though the schemas (which allow no other properties) lack them.
//   - SubscriptionSecret.createdAt loses format date-time (the examples give
//     "2023-12-13T14:15:01", with no time zone), and SubscriptionSecret gains
//     lastUsedAt, which the examples carry.
//   - PagedPaymentIntent is allOf [PagedResultOfPaymentIntent, {additionalProperties:
//     false}]; the second part, declaring no properties, forbids every one, so no page
//     could pass. It is dropped; PagedResultOfPaymentIntent allows no others itself.
//
// TestSpecExamples checks that every example answer of the operations the fake
// serves passes the amended spec.
func amendSpec(doc *openapi3.T) error {
	schema := func(name string) (*openapi3.Schema, error) {
		ref := doc.Components.Schemas[name]
		if ref == nil || ref.Value == nil {
			return nil, fmt.Errorf("dojotest: the spec has no schema %s", name)
		}
		return ref.Value, nil
	}
	str := func() *openapi3.SchemaRef { return openapi3.NewStringSchema().NewRef() }

	create, err := schema("CreatePaymentIntentRequest")
	if err != nil {
		return err
	}
	create.Properties["paymentSource"] = str()

	pi, err := schema("PaymentIntent")
	if err != nil {
		return err
	}
	pi.Properties["paymentSource"] = str()
	event := openapi3.NewObjectSchema()
	for _, f := range []string{"transactionId", "transactionDateTime", "authCode", "cardNumber", "expiryDate", "cardType", "cardholderName", "paymentMethodId"} {
		event.Properties[f] = openapi3.NewStringSchema().WithNullable().NewRef()
	}
	event.Properties["eventType"] = doc.Components.Schemas["paymentEventType"]
	if event.Properties["eventType"] == nil {
		return errors.New("dojotest: the spec has no schema paymentEventType")
	}
	event.AdditionalProperties = openapi3.AdditionalProperties{Has: new(false)}
	pi.Properties["paymentEvents"] = openapi3.NewArraySchema().WithItems(event).WithNullable().NewRef()

	cfg, err := schema("PaymentIntentConfigResponse")
	if err != nil {
		return err
	}
	cfg.Properties["branding"] = openapi3.NewObjectSchema().WithNullable().NewRef()
	cfg.Properties["tradingName"] = openapi3.NewStringSchema().WithNullable().NewRef()

	secret, err := schema("SubscriptionSecret")
	if err != nil {
		return err
	}
	if p := secret.Properties["createdAt"]; p != nil && p.Value != nil {
		v := *p.Value
		v.Format = ""
		secret.Properties["createdAt"] = &openapi3.SchemaRef{Value: &v}
	}
	secret.Properties["lastUsedAt"] = openapi3.NewStringSchema().WithNullable().NewRef()

	paged, err := schema("PagedPaymentIntent")
	if err != nil {
		return err
	}
	if len(paged.AllOf) != 2 || paged.AllOf[0].Ref != "#/components/schemas/PagedResultOfPaymentIntent" {
		return errors.New("dojotest: PagedPaymentIntent is not as expected")
	}
	paged.AllOf = paged.AllOf[:1]
	return nil
}

// options are how the fake validates: every operation's auth is the fake's own
// business, and an answer's status must be one the spec lists.
func specOptions() *openapi3filter.Options {
	return &openapi3filter.Options{
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true,
		MultiError:            true,
	}
}

// Route reports whether the spec has an operation for r.
func (sp *spec) Route(r *http.Request) bool {
	route, _ := sp.route(r)
	return route != nil
}

// route finds the spec's operation for r; nil when the spec has none.
func (sp *spec) route(r *http.Request) (*routers.Route, map[string]string) {
	route, params, err := sp.router.FindRoute(r)
	if err != nil {
		return nil, nil
	}
	return route, params
}

// CheckRequest validates a request (its body given separately) against the spec's
// operation for it, and returns the problems found, by field, or nil.
func (sp *spec) CheckRequest(r *http.Request, body []byte) map[string][]string {
	route, params := sp.route(r)
	if route == nil {
		return map[string][]string{"$": {"No such operation in Dojo's API."}}
	}
	req := r.Clone(context.Background())
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: specOptions()}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		return validationProblems(err)
	}
	return nil
}

// CheckResponse validates an answer to r against the spec; nil when it conforms or
// when the spec has no operation for r.
func (sp *spec) CheckResponse(r *http.Request, status int, header http.Header, body []byte) error {
	route, params := sp.route(r)
	if route == nil {
		return nil
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: specOptions()},
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                specOptions(),
	}
	return openapi3filter.ValidateResponse(context.Background(), in)
}

// checkSchema validates a decoded JSON value against one of the spec's component
// schemas, as an answer.
func (sp *spec) checkSchema(name string, v any) error {
	ref := sp.doc.Components.Schemas[name]
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("no schema %s", name)
	}
	return ref.Value.VisitJSON(v, openapi3.MultiErrors(), openapi3.VisitAsResponse())
}

// examples returns every example answer of the operations on the given paths, by
// "METHOD path status", with the schema each must satisfy.
func (sp *spec) examples(paths ...string) map[string]example {
	out := map[string]example{}
	for _, p := range paths {
		item := sp.doc.Paths.Value(p)
		if item == nil {
			continue
		}
		for method, op := range item.Operations() {
			for status, resp := range op.Responses.Map() {
				if resp.Value == nil {
					continue
				}
				for mt, media := range resp.Value.Content {
					name := fmt.Sprintf("%s %s %s %s", method, p, status, mt)
					if media.Example != nil {
						out[name] = example{Schema: media.Schema, Value: media.Example}
					}
					for ex, ref := range media.Examples {
						if ref.Value != nil {
							out[name+" "+ex] = example{Schema: media.Schema, Value: ref.Value.Value}
						}
					}
				}
			}
		}
	}
	return out
}

// example is one example answer from the spec.
type example struct {
	Schema *openapi3.SchemaRef
	Value  any
}

// check validates the example against its schema.
func (e example) check() error {
	if e.Schema == nil || e.Schema.Value == nil {
		return nil
	}
	return e.Schema.Value.VisitJSON(e.Value, openapi3.MultiErrors(), openapi3.VisitAsResponse())
}

// validationProblems turns a validation error into Dojo's errors map: field → messages.
func validationProblems(err error) map[string][]string {
	out := map[string][]string{}
	var walk func(error)
	walk = func(err error) {
		var multi openapi3.MultiError
		if errors.As(err, &multi) {
			for _, e := range multi {
				walk(e)
			}
			return
		}
		var re *openapi3filter.RequestError
		if errors.As(err, &re) && re.Err != nil {
			var inner openapi3.MultiError
			if errors.As(re.Err, &inner) {
				for _, e := range inner {
					walk(e)
				}
				return
			}
		}
		var se *openapi3.SchemaError
		if errors.As(err, &se) {
			field := fieldName(se.JSONPointer())
			out[field] = append(out[field], se.Reason)
			return
		}
		field := "$"
		if re != nil && re.Parameter != nil {
			field = re.Parameter.Name
		}
		out[field] = append(out[field], err.Error())
	}
	walk(err)
	for f := range out {
		sort.Strings(out[f])
	}
	return out
}

// fieldName names a JSON pointer the way Dojo (ASP.NET) names fields in its errors:
// "amount/currencyCode" is "Amount.CurrencyCode", "itemLines/0/id" "ItemLines[0].Id".
func fieldName(pointer []string) string {
	if len(pointer) == 0 {
		return "$"
	}
	var b strings.Builder
	for _, p := range pointer {
		if p == "" {
			continue
		}
		if _, err := strconv.Atoi(p); err == nil {
			b.WriteString("[" + p + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strings.ToUpper(p[:1]) + p[1:])
	}
	if b.Len() == 0 {
		return "$"
	}
	return b.String()
}
