package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/paylink/paylink/dojo/dojofake"
	"github.com/paylink/paylink/dojo/dojotest"
)

// The playground's fake Dojo, in tests, is as strict as every other test's: it refuses
// a request that breaks Dojo's spec, and reports an answer of its own that breaks it to
// the playground's log.
func init() {
	c, err := dojotest.SpecChecker()
	if err != nil {
		panic(err)
	}
	demoDojoOptions = append(demoDojoOptions, dojofake.WithChecker(c))
}

// TestBinaryCarriesNoSpecValidator: the server binary, demo included, links neither the
// OpenAPI validator nor the JSON Schema one: only the tests' fake Dojo checks Dojo's spec.
func TestBinaryCarriesNoSpecValidator(t *testing.T) {
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
