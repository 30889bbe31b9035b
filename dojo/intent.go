package dojo

import (
	"strings"
	"time"

	"github.com/paylink/paylink/dojo/safetext"
)

// Status is a payment intent's status.
type Status string

// The statuses Dojo reports. A paid link is Captured.
const (
	StatusCreated    Status = "Created"
	StatusAuthorized Status = "Authorized"
	StatusCaptured   Status = "Captured"
	StatusReversed   Status = "Reversed"
	StatusRefunded   Status = "Refunded"
	StatusCanceled   Status = "Canceled"
)

// Statuses lists every status, in lifecycle order.
func Statuses() []Status {
	return []Status{StatusCreated, StatusAuthorized, StatusCaptured, StatusReversed, StatusRefunded, StatusCanceled}
}

// Valid reports whether s is a status Dojo documents.
func (s Status) Valid() bool {
	for _, v := range Statuses() {
		if s == v {
			return true
		}
	}
	return false
}

// Open reports whether a link in this status can still be paid.
func (s Status) Open() bool { return s == StatusCreated || s == StatusAuthorized }

// IsSandboxKey reports whether key is a Dojo sandbox (test mode) key.
func IsSandboxKey(key string) bool { return strings.HasPrefix(key, "sk_sandbox_") }

// CreateRequest is the body of POST /payment-intents, as paylink uses it.
type CreateRequest struct {
	Amount        Money             `json:"amount"`
	Reference     string            `json:"reference"`
	Description   string            `json:"description,omitempty"`
	PaymentSource string            `json:"paymentSource,omitempty"`
	Metadata      map[string]string `json:"metadata,omitempty"`
	ExpireAt      *time.Time        `json:"expireAt,omitempty"` // nil: Dojo voids it after 30 days
}

// PaymentIntent is the part of Dojo's PaymentIntent that paylink reads. Dojo's answers
// carry more; unknown fields are ignored.
type PaymentIntent struct {
	ID             string            `json:"id"`
	Status         Status            `json:"status"`
	CaptureMode    string            `json:"captureMode,omitempty"`
	Amount         Money             `json:"amount"`
	TotalAmount    *Money            `json:"totalAmount,omitempty"`
	RefundedAmount int64             `json:"refundedAmount,omitempty"`
	Reference      string            `json:"reference"`
	Description    string            `json:"description,omitempty"`
	PaymentSource  string            `json:"paymentSource,omitempty"`
	Metadata       map[string]string `json:"metadata,omitempty"`
	PaymentLink    string            `json:"paymentLink,omitempty"`
	CreatedAt      time.Time         `json:"createdAt"`
	UpdatedAt      time.Time         `json:"updatedAt"`
	ExpireAt       *time.Time        `json:"expireAt,omitempty"`
}

// SearchRequest is the body of POST /payment-intents/search.
type SearchRequest struct {
	Statuses  []Status   `json:"statuses,omitempty"`
	StartDate *time.Time `json:"startDate,omitempty"`
	EndDate   *time.Time `json:"endDate,omitempty"`
	Cursor    *Cursor    `json:"cursor,omitempty"`
}

// Cursor pages through search results: limit 1–100 (default 50), before/after from a
// previous page.
type Cursor struct {
	Limit  int    `json:"limit,omitempty"`
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
}

// SearchResult is one page of POST /payment-intents/search.
type SearchResult struct {
	Data   []PaymentIntent `json:"data"`
	Before string          `json:"before,omitempty"`
	After  string          `json:"after,omitempty"`
}

// RefundRequest is the body of POST /payment-intents/{id}/refunds.
type RefundRequest struct {
	Amount       int64  `json:"amount"`
	RefundReason string `json:"refundReason,omitempty"`
	Notes        string `json:"notes,omitempty"`
}

// Refund is Dojo's answer to a refund.
type Refund struct {
	PaymentIntentID string `json:"paymentIntentId,omitempty"`
	RefundID        string `json:"refundId"`
	RefundReason    string `json:"refundReason,omitempty"`
	Notes           string `json:"notes,omitempty"`
	Message         string `json:"message,omitempty"`
}

// Reversal is Dojo's answer to a reversal: the whole payment given back, on the day it
// was taken.
type Reversal struct {
	ReversalID string `json:"reversalId,omitempty"`
	Message    string `json:"message,omitempty"`
}

// ValidIntentID accepts the ids Dojo issues (pi_sandbox_… and the like): they go into
// URLs and Redis keys, so anything else is refused.
func ValidIntentID(id string) bool {
	return id != "" && len(id) <= 100 && safetext.IDChars(id)
}
