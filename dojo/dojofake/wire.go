package dojofake

import (
	"time"

	"github.com/paylink/paylink/dojo"
)

// wireIntent is a payment intent as Dojo's API sends it, shaped like the spec's
// example answers: paylink's view of it and the fields paylink does not read.
type wireIntent struct {
	ID                     string            `json:"id"`
	CaptureMode            string            `json:"captureMode"`
	CardHolderNotPresent   bool              `json:"cardHolderNotPresent"`
	Status                 dojo.Status       `json:"status"`
	PaymentMethods         []string          `json:"paymentMethods"`
	Amount                 dojo.Money        `json:"amount"`
	TotalAmount            dojo.Money        `json:"totalAmount"`
	RefundedAmount         int64             `json:"refundedAmount"`
	CreatedAt              time.Time         `json:"createdAt"`
	UpdatedAt              time.Time         `json:"updatedAt"`
	Reference              string            `json:"reference"`
	Description            *string           `json:"description"`
	ItemLines              []struct{}        `json:"itemLines"`
	TaxLines               []struct{}        `json:"taxLines"`
	MerchantConfig         merchantConfig    `json:"merchantConfig"`
	Config                 intentConfig      `json:"config"`
	PaymentSource          string            `json:"paymentSource"`
	ExpireAt               *time.Time        `json:"expireAt"`
	Metadata               map[string]string `json:"metadata"`
	PaymentEvents          []paymentEvent    `json:"paymentEvents"`
	PaymentLink            string            `json:"paymentLink"`
	TerminalSessionHistory []struct{}        `json:"terminalSessionHistory"`
	Captures               []struct{}        `json:"captures"`
}

type merchantConfig struct {
	SupportedPaymentMethods struct {
		CardSchemes []string `json:"cardSchemes"`
		Wallets     []string `json:"wallets"`
	} `json:"supportedPaymentMethods"`
}

type intentConfig struct {
	Branding    struct{} `json:"branding"`
	TradingName string   `json:"tradingName"`
}

// paymentEvent is one entry of an intent's paymentEvents, as in Dojo's examples.
type paymentEvent struct {
	TransactionID       string `json:"transactionId"`
	TransactionDateTime string `json:"transactionDateTime"`
	EventType           string `json:"eventType"`
	AuthCode            string `json:"authCode"`
	CardNumber          string `json:"cardNumber"`
	ExpiryDate          string `json:"expiryDate"`
	CardType            string `json:"cardType"`
	CardholderName      string `json:"cardholderName"`
	PaymentMethodID     string `json:"paymentMethodId"`
}

// wirePage is one page of POST /payment-intents/search.
type wirePage struct {
	Data   []wireIntent `json:"data"`
	Before string       `json:"before,omitempty"`
	After  string       `json:"after,omitempty"`
}

// wire renders pi as Dojo sends it. Call with s.mu held.
func (s *Server) wire(pi *dojo.PaymentIntent) wireIntent {
	w := wireIntent{
		ID:                     pi.ID,
		CaptureMode:            pi.CaptureMode,
		Status:                 pi.Status,
		PaymentMethods:         []string{"Card"},
		Amount:                 pi.Amount,
		TotalAmount:            pi.Amount,
		RefundedAmount:         pi.RefundedAmount,
		CreatedAt:              pi.CreatedAt,
		UpdatedAt:              pi.UpdatedAt,
		Reference:              pi.Reference,
		ItemLines:              []struct{}{},
		TaxLines:               []struct{}{},
		Config:                 intentConfig{TradingName: "Dojotest Ltd"},
		PaymentSource:          pi.PaymentSource,
		ExpireAt:               pi.ExpireAt,
		Metadata:               pi.Metadata,
		PaymentEvents:          append([]paymentEvent{}, s.events[pi.ID]...),
		PaymentLink:            pi.PaymentLink,
		TerminalSessionHistory: []struct{}{},
		Captures:               []struct{}{},
	}
	w.MerchantConfig.SupportedPaymentMethods.CardSchemes = []string{"VISA", "MASTERCARD", "MAESTRO", "DISCOVER", "DCI", "AMEX"}
	w.MerchantConfig.SupportedPaymentMethods.Wallets = []string{"APPLE_PAY", "GOOGLE_PAY"}
	if w.CaptureMode == "" {
		w.CaptureMode = "Auto"
	}
	if pi.TotalAmount != nil {
		w.TotalAmount = *pi.TotalAmount
	}
	if pi.Description != "" {
		d := pi.Description
		w.Description = &d
	}
	if w.PaymentSource == "" {
		w.PaymentSource = "api"
	}
	if w.PaymentLink == "" {
		w.PaymentLink = "https://pay.dojo.tech:443/checkout/" + pi.ID
	}
	return w
}

// addEvent records the card event behind a status a customer's payment brings. Call
// with s.mu held.
func (s *Server) addEvent(id string, status dojo.Status, at time.Time) {
	switch status {
	case dojo.StatusAuthorized, dojo.StatusCaptured, dojo.StatusReversed, dojo.StatusRefunded:
	default:
		return
	}
	tx := ""
	if prev := s.events[id]; len(prev) > 0 {
		tx = prev[0].TransactionID
	} else {
		tx = randomHex(16)
	}
	s.events[id] = append(s.events[id], paymentEvent{
		TransactionID:       tx,
		TransactionDateTime: at.UTC().Format(time.RFC3339Nano),
		EventType:           string(status),
		AuthCode:            "123456",
		CardNumber:          "44565300****1096",
		ExpiryDate:          "2029-12-31",
		CardType:            "VISA",
		CardholderName:      "Test Cardholder",
	})
}
