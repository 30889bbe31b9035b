package main

import (
	"context"
	"errors"
	"io"
)

// runCheck checks the configuration against Slack, Dojo and Redis.
func runCheck(ctx context.Context, args []string, lookup func(string) (string, bool), stdout io.Writer) error {
	return errors.New("check: not available in this build")
}

// runWebhook registers Dojo webhooks or sends a test event.
func runWebhook(ctx context.Context, args []string, lookup func(string) (string, bool), stdout io.Writer) error {
	return errors.New("webhook: not available in this build")
}
