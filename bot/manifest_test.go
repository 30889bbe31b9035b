package bot

import (
	"net/url"
	"os"
	"slices"
	"testing"

	"github.com/dlclark/regexp2"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

// TestSlackAppManifest validates slack-app-manifest.yaml against Slack's manifest schema
// (vendored in testdata with its licence) and checks that it points Slack at the paths
// this server serves, with the scopes the bot uses.
func TestSlackAppManifest(t *testing.T) {
	raw, err := os.ReadFile("../slack-app-manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("manifest is not YAML: %v", err)
	}

	f, err := os.Open("testdata/manifest.schema.1.0.0.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	schemaDoc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	c.UseRegexpEngine(ecmaRegexp) // Slack's patterns use look-ahead, which Go's regexp lacks
	if err := c.AddResource("manifest.schema.json", schemaDoc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("manifest.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(doc); err != nil {
		t.Fatalf("manifest does not match Slack's schema: %v", err)
	}
	bad := map[string]any{"display_information": map[string]any{"name": "Paylink"}, "features": map[string]any{
		"slash_commands": []any{map[string]any{"command": "paylink", "description": "no leading slash"}}}}
	if schema.Validate(bad) == nil {
		t.Fatalf("the schema accepted a command without its leading slash: the check is not working")
	}

	var m struct {
		Features struct {
			AppHome struct {
				HomeTab bool `yaml:"home_tab_enabled"`
			} `yaml:"app_home"`
			SlashCommands []struct {
				Command   string `yaml:"command"`
				URL       string `yaml:"url"`
				UsageHint string `yaml:"usage_hint"`
			} `yaml:"slash_commands"`
		} `yaml:"features"`
		OAuth struct {
			Scopes struct {
				Bot []string `yaml:"bot"`
			} `yaml:"scopes"`
		} `yaml:"oauth_config"`
		Settings struct {
			Interactivity struct {
				Enabled    bool   `yaml:"is_enabled"`
				RequestURL string `yaml:"request_url"`
			} `yaml:"interactivity"`
			Events struct {
				RequestURL string   `yaml:"request_url"`
				BotEvents  []string `yaml:"bot_events"`
			} `yaml:"event_subscriptions"`
		} `yaml:"settings"`
	}
	if err := yaml.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	path := func(raw string) string {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			t.Errorf("%q is not a URL", raw)
			return ""
		}
		return u.Path
	}
	if len(m.Features.SlashCommands) != 1 || m.Features.SlashCommands[0].Command != "/paylink" {
		t.Fatalf("slash commands = %+v, want /paylink", m.Features.SlashCommands)
	}
	if p := path(m.Features.SlashCommands[0].URL); p != PathCommands {
		t.Errorf("/paylink URL path %q, want %q", p, PathCommands)
	}
	if m.Features.SlashCommands[0].UsageHint == "" {
		t.Errorf("/paylink has no usage hint")
	}
	if !m.Settings.Interactivity.Enabled {
		t.Errorf("interactivity is off")
	}
	if p := path(m.Settings.Interactivity.RequestURL); p != PathInteractions {
		t.Errorf("interactivity URL path %q, want %q", p, PathInteractions)
	}
	if p := path(m.Settings.Events.RequestURL); p != PathEvents {
		t.Errorf("events URL path %q, want %q", p, PathEvents)
	}
	if want := []string{"app_home_opened", "app_uninstalled", "tokens_revoked"}; !slices.Equal(m.Settings.Events.BotEvents, want) {
		t.Errorf("bot events %v, want %v", m.Settings.Events.BotEvents, want)
	}
	if !m.Features.AppHome.HomeTab {
		t.Errorf("the Home tab is off")
	}
	for _, scope := range []string{"commands", "chat:write", "chat:write.public"} {
		if !slices.Contains(m.OAuth.Scopes.Bot, scope) {
			t.Errorf("bot scopes %v lack %s", m.OAuth.Scopes.Bot, scope)
		}
	}
}

// ecmaRegexp compiles JSON Schema patterns as ECMA-262 regular expressions, as the
// JSON Schema specification says they are.
func ecmaRegexp(s string) (jsonschema.Regexp, error) {
	re, err := regexp2.Compile(s, regexp2.ECMAScript)
	if err != nil {
		return nil, err
	}
	return ecmaRE{re}, nil
}

type ecmaRE struct{ re *regexp2.Regexp }

func (r ecmaRE) MatchString(s string) bool {
	ok, err := r.re.MatchString(s)
	return err == nil && ok
}

func (r ecmaRE) String() string { return r.re.String() }
