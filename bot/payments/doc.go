// Package payments is what Dojo tells paylink and what paylink asks Dojo back: the
// webhook intake, the workers that post status notices from the notification stream,
// reconciliation of links still open, and the confirmation with Dojo before anything is
// announced.
package payments
