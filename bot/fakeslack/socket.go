package fakeslack

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// WithAppToken sets the app-level token (xapp-…) apps.connections.open accepts, for
// Socket Mode.
func WithAppToken(token string) Option { return func(s *Server) { s.appToken = token } }

// socket is the fake's Socket Mode side: one WebSocket connection at a time, envelopes
// pushed by the test, acknowledgements kept by envelope id.
type socket struct {
	mu      sync.Mutex
	conn    *websocket.Conn
	writeMu sync.Mutex
	acks    map[string]json.RawMessage
	next    int
	opened  int // connections accepted so far
}

// socketPing is how often the fake pings the bot, as Slack does; the client reconnects
// when pings stop for 30 seconds.
const socketPing = 5 * time.Second

// connectionsOpen answers apps.connections.open with the WebSocket URL.
func (s *Server) connectionsOpen(w http.ResponseWriter, r *http.Request) {
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if s.appToken == "" || token != s.appToken {
		writeJSON(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	writeJSON(w, map[string]any{"ok": true, "url": "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/socket"})
}

// serveSocket accepts the bot's WebSocket, says hello, and records acknowledgements.
func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }} // Slack's client sends its own origin
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.sock.mu.Lock()
	if s.sock.acks == nil {
		s.sock.acks = map[string]json.RawMessage{}
	}
	s.sock.conn = conn
	s.sock.opened++
	s.sock.mu.Unlock()
	done := make(chan struct{})
	defer close(done)
	go func() {
		t := time.NewTicker(socketPing)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if conn.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(time.Second)) != nil {
					return
				}
			}
		}
	}()
	s.sock.write(map[string]any{"type": "hello", "num_connections": 1,
		"debug_info":      map[string]any{"host": "fakeslack", "approximate_connection_time": 3600},
		"connection_info": map[string]any{"app_id": "A123456"}})
	for {
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if err := conn.ReadJSON(&ack); err != nil {
			s.sock.mu.Lock()
			if s.sock.conn == conn {
				s.sock.conn = nil
			}
			s.sock.mu.Unlock()
			return
		}
		s.sock.mu.Lock()
		if ack.Payload == nil {
			ack.Payload = json.RawMessage("null")
		}
		s.sock.acks[ack.EnvelopeID] = ack.Payload
		s.sock.mu.Unlock()
	}
}

func (k *socket) write(v any) error {
	k.mu.Lock()
	conn := k.conn
	k.mu.Unlock()
	if conn == nil {
		return fmt.Errorf("no Socket Mode connection")
	}
	k.writeMu.Lock()
	defer k.writeMu.Unlock()
	return conn.WriteJSON(v)
}

// SocketSend pushes an envelope (type "slash_commands" or "interactive") over the
// bot's Socket Mode connection, waiting up to 5 s for it to connect, and returns the
// envelope id.
func (s *Server) SocketSend(tb testing.TB, envelopeType string, payload any) string {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.sock.mu.Lock()
		connected := s.sock.conn != nil
		s.sock.next++
		id := fmt.Sprintf("env-%d", s.sock.next)
		s.sock.mu.Unlock()
		if connected {
			err := s.sock.write(map[string]any{"envelope_id": id, "type": envelopeType,
				"accepts_response_payload": true, "payload": payload})
			if err == nil {
				return id
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("fakeslack: no Socket Mode connection to send on")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// SocketAck waits for the acknowledgement of an envelope and returns its payload
// ("null" for none).
func (s *Server) SocketAck(tb testing.TB, envelopeID string, timeout time.Duration) json.RawMessage {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s.sock.mu.Lock()
		p, ok := s.sock.acks[envelopeID]
		s.sock.mu.Unlock()
		if ok {
			return p
		}
		if time.Now().After(deadline) {
			tb.Fatalf("fakeslack: envelope %s not acknowledged within %v", envelopeID, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// SocketConnections says how many Socket Mode connections the bot has opened so far.
func (s *Server) SocketConnections() int {
	s.sock.mu.Lock()
	defer s.sock.mu.Unlock()
	return s.sock.opened
}

// SocketDisconnect sends Slack's disconnect message (reason "refresh_requested",
// "warning" or "link_disabled") and stops sending on that connection, as Slack does
// before it recycles one; the next SocketSend waits for the bot to reconnect.
func (s *Server) SocketDisconnect(tb testing.TB, reason string) {
	tb.Helper()
	s.sock.mu.Lock()
	conn := s.sock.conn
	s.sock.conn = nil
	s.sock.mu.Unlock()
	if conn == nil {
		tb.Fatalf("fakeslack: no Socket Mode connection to disconnect")
	}
	s.sock.writeMu.Lock()
	err := conn.WriteJSON(map[string]any{"type": "disconnect", "reason": reason,
		"debug_info": map[string]any{"host": "fakeslack"}})
	s.sock.writeMu.Unlock()
	if err != nil {
		tb.Fatalf("fakeslack: send disconnect: %v", err)
	}
}
