package bot

import (
	"time"

	"context"

	"github.com/rs/zerolog"

	"github.com/paylink/paylink/bot/home"
	"github.com/paylink/paylink/bot/slackin"
)

// revocations records workspaces that uninstalled paylink or revoked its token.
// *store.Store satisfies it.
type revocations interface {
	MarkRevoked(ctx context.Context, team, why string) error
	ClearRevoked(ctx context.Context, team string) error
}

// eventsHandler takes the Events API's events: a Home tab opened is published; an
// uninstall or a revoked bot token marks the workspace, so its notices stop being
// retried.
type eventsHandler struct {
	home    *home.Publisher
	revoked revocations
	tasks   *Tasks
}

// slackHandler is everything Slack sends paylink, over HTTP or Socket Mode: commands
// and interactions (linker) and events.
type slackHandler struct {
	*linker
	events *eventsHandler
}

// Event hands an event to the events handler.
func (h slackHandler) Event(ctx context.Context, log zerolog.Logger, ev slackin.Event) {
	h.events.Event(ctx, log, ev)
}

// Event acts on one event; slow work goes to the background.
func (h *eventsHandler) Event(ctx context.Context, log zerolog.Logger, ev slackin.Event) {
	switch ev.Type {
	case slackin.EventAppHomeOpened:
		if ev.Tab != "" && ev.Tab != "home" {
			return
		}
		h.tasks.Go(homeTimeout, func(ctx context.Context) {
			// Slack sends events only for a workspace where paylink is installed.
			if err := h.revoked.ClearRevoked(ctx, ev.Team); err != nil {
				log.Warn().Err(err).Msg("home: could not clear the workspace's revoked mark")
			}
			if err := h.home.Publish(ctx, ev.Team, ev.User); err != nil {
				log.Error().Err(err).Str("user", ev.User).Msg("home: could not publish")
			}
		})
	case slackin.EventAppUninstalled, slackin.EventTokensRevoked:
		if ev.Type == slackin.EventTokensRevoked && !ev.BotRevoked {
			log.Info().Msg("user tokens revoked: paylink uses only its bot token")
			return
		}
		why := map[bool]string{true: "uninstalled paylink", false: "revoked paylink's bot token"}[ev.Type == slackin.EventAppUninstalled]
		log.Error().Msg("the workspace " + why + ": its notices are no longer posted")
		if err := h.revoked.MarkRevoked(context.WithoutCancel(ctx), ev.Team, why); err != nil {
			log.Error().Err(err).Msg("could not record that the workspace " + why)
		}
	default:
		log.Debug().Msg("event not used")
	}
}

// homeTimeout bounds publishing one Home tab.
const homeTimeout = 15 * time.Second
