package bot

import (
	"context"

	"github.com/slack-go/slack"
)

// Policy says who may create links where. The zero Policy lets everyone.
type Policy struct{}

// refuse returns why sc may not create a link, or "" when it may.
func (p Policy) refuse(ctx context.Context, l *linker, sc slack.SlashCommand) string {
	return ""
}
