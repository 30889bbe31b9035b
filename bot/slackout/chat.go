package slackout

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/slack-go/slack"
)

// Chat posts and updates messages with Slack's Web API (chat.postMessage,
// chat.update), sending each call as one JSON body: a card's blocks are encoded once,
// not again into a form field, and only what paylink uses is read from the answer.
// Its failures are slack-go's error types, so ErrorCode and the rate-limit handling
// read them as they read slack-go's.
type Chat struct {
	hc    *http.Client
	api   string // the Web API's base URL, ending in "/"
	token string
}

// NewChat returns a Chat that calls the Web API at apiURL (Slack's is
// "https://slack.com/api/") with the bot token.
func NewChat(hc *http.Client, apiURL, token string) *Chat {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Chat{hc: hc, api: apiURL, token: token}
}

// Message is a message to post, or the new content of one to update.
type Message struct {
	Channel string `json:"channel"`
	// TS is the message chat.update replaces.
	TS string `json:"ts,omitempty"`
	// ThreadTS makes the post a reply in that message's thread; Broadcast also shows
	// the reply in the channel.
	ThreadTS  string        `json:"thread_ts,omitempty"`
	Broadcast bool          `json:"reply_broadcast,omitempty"`
	Text      string        `json:"text"`
	Blocks    []slack.Block `json:"blocks,omitempty"`
	// Unfurl, set by Post, is false: nothing paylink posts shows link previews.
	UnfurlLinks *bool `json:"unfurl_links,omitempty"`
	UnfurlMedia *bool `json:"unfurl_media,omitempty"`
}

// Post posts m with chat.postMessage, without link or media previews, and returns the
// channel and ts of the message Slack made.
func (c *Chat) Post(ctx context.Context, m Message) (channel, ts string, err error) {
	m.UnfurlLinks, m.UnfurlMedia = new(false), new(false)
	res, err := c.call(ctx, "chat.postMessage", &m)
	return res.Channel, res.TS, err
}

// Update replaces the text and blocks of the message m.TS in m.Channel with
// chat.update.
func (c *Chat) Update(ctx context.Context, m Message) error {
	_, err := c.call(ctx, "chat.update", &m)
	return err
}

// chatAnswer is what paylink reads of a chat.* answer.
type chatAnswer struct {
	OK       bool   `json:"ok"`
	Error    string `json:"error"`
	Channel  string `json:"channel"`
	TS       string `json:"ts"`
	Needed   string `json:"needed"`
	Provided string `json:"provided"`
}

// answerLimit caps how much of an answer is read; Slack's echo of a card is a few KiB.
const answerLimit = 1 << 20

func (c *Chat) call(ctx context.Context, method string, m *Message) (chatAnswer, error) {
	if m.Blocks != nil {
		wire := *m
		wire.Blocks = plainBlocks(m.Blocks)
		m = &wire
	}
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return chatAnswer{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.api+method, &body)
	if err != nil {
		return chatAnswer{}, err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.hc.Do(req)
	if err != nil {
		return chatAnswer{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") != "" {
		io.Copy(io.Discard, io.LimitReader(resp.Body, answerLimit))
		secs, err := strconv.ParseInt(resp.Header.Get("Retry-After"), 10, 64)
		if err != nil {
			return chatAnswer{}, err
		}
		return chatAnswer{}, &slack.RateLimitedError{RetryAfter: time.Duration(secs) * time.Second}
	}
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, answerLimit))
		return chatAnswer{}, slack.StatusCodeError{Code: resp.StatusCode, Status: resp.Status}
	}
	// Read to the end, so the connection is used again.
	data, err := io.ReadAll(io.LimitReader(resp.Body, answerLimit))
	if err != nil {
		return chatAnswer{}, err
	}
	var a chatAnswer
	if err := json.Unmarshal(data, &a); err != nil {
		return chatAnswer{}, err
	}
	if !a.OK {
		return a, slack.SlackErrorResponse{Err: a.Error, Needed: a.Needed, Provided: a.Provided}
	}
	return a, nil
}

// plainBlock is an actions or context block as plain data, encoded as slack-go encodes
// it. slack-go writes those blocks' elements through MarshalJSON methods, whose output
// encoding/json then checks and compacts a second time: a third of the time a card took
// to encode (BenchmarkPostCard).
type plainBlock struct {
	Type     slack.MessageBlockType `json:"type"`
	BlockID  string                 `json:"block_id,omitempty"`
	Elements any                    `json:"elements"`
}

func (b plainBlock) BlockType() slack.MessageBlockType { return b.Type }
func (b plainBlock) ID() string                        { return b.BlockID }

// plainBlocks is blocks with its actions and context blocks as plain data; the others
// as they are.
func plainBlocks(blocks []slack.Block) []slack.Block {
	out := make([]slack.Block, len(blocks))
	for i, b := range blocks {
		switch b := b.(type) {
		case *slack.ActionBlock:
			var elements any
			if b.Elements != nil {
				elements = b.Elements.ElementSet
			}
			out[i] = plainBlock{Type: b.Type, BlockID: b.BlockID, Elements: elements}
		case *slack.ContextBlock:
			out[i] = plainBlock{Type: b.Type, BlockID: b.BlockID, Elements: b.ContextElements.Elements}
		default:
			out[i] = b
		}
	}
	return out
}
