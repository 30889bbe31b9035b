package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/paylink/paylink/dojo/dojofake"
	"github.com/paylink/paylink/dojo/dojotest"
)

// specChecked makes the playground's fake Dojo, in tests, as strict as every other
// test's: it refuses a request that breaks Dojo's spec, and reports an answer of its own
// that breaks it to the playground's log.
func specChecked(t *testing.T) dojofake.Option {
	t.Helper()
	c, err := dojotest.SpecChecker()
	if err != nil {
		t.Fatal(err)
	}
	return dojofake.WithChecker(c)
}

// TestBinaryCarriesNoSpecValidator: the server binary, demo included, links neither the
// OpenAPI validator nor the JSON Schema one: only the tests' fake Dojo checks Dojo's spec.
func TestBinaryCarriesNoSpecValidator(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.Contains(pkg, "kin-openapi") || strings.Contains(pkg, "jsonschema") || strings.HasSuffix(pkg, "/dojo/dojotest") {
			t.Errorf("the binary links %s", pkg)
		}
	}
}
