package main

import (
	"context"
	"errors"
	"io"
)

// runAudit prints the audit trail as CSV.
func runAudit(ctx context.Context, args []string, lookup func(string) (string, bool), stdout io.Writer) error {
	return errors.New("audit: not available in this build")
}
