package main

import (
	"bytes"
	"context"
	"runtime/debug"
	"strings"
	"testing"
)

// validEnv is a configuration serve would start with, on a free loopback port.
var validEnv = env{
	"SLACK_SIGNING_SECRET": "s",
	"SLACK_BOT_TOKEN":      "xoxb-1",
	"DOJO_API_KEY":         "sk_sandbox_1",
	"PAYLINK_LISTEN":       "127.0.0.1:0",
	"REDIS_URL":            "redis://127.0.0.1:1",
}

// TestSubcommandHelp: every subcommand's --help prints its usage and succeeds, and
// does nothing else (serve does not start).
func TestSubcommandHelp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--help"}, "usage: paylink [command]"},
		{[]string{"-h"}, "usage: paylink [command]"},
		{[]string{"help"}, "usage: paylink [command]"},
		{[]string{"serve", "--help"}, "usage: paylink [serve]"},
		{[]string{"serve", "-h"}, "usage: paylink [serve]"},
		{[]string{"help", "serve"}, "usage: paylink [serve]"},
		{[]string{"check", "--help"}, "usage: paylink check"},
		{[]string{"audit", "--help"}, "usage: paylink audit"},
		{[]string{"audit", "-help"}, "usage: paylink audit"},
		{[]string{"help", "audit"}, "usage: paylink audit"},
		{[]string{"digest", "--help"}, "usage: paylink digest"},
		{[]string{"help", "digest"}, "usage: paylink digest"},
		{[]string{"webhook", "--help"}, "paylink webhook register"},
		{[]string{"webhook", "register", "--help"}, "usage: paylink webhook register"},
		{[]string{"webhook", "send", "--help"}, "usage: paylink webhook send"},
		{[]string{"demo", "--help"}, "usage: paylink demo"},
		{[]string{"version", "--help"}, "usage: paylink version"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // a command that started anyway stops at once, and says it started
			var stdout, stderr bytes.Buffer
			err := run(ctx, append([]string{"paylink"}, tt.args...), validEnv.lookup, &stdout, &stderr)
			if err != nil {
				t.Fatalf("error %v, want none; stderr: %s", err, stderr.String())
			}
			out := stdout.String()
			if !strings.Contains(out, tt.want) {
				t.Errorf("printed %q, want it to contain %q", out, tt.want)
			}
			for _, bad := range []string{"help requested", "paylink started", "paylink playground: http", "\"level\""} {
				if strings.Contains(out+stderr.String(), bad) {
					t.Errorf("printed %q: it did more than print its usage", bad)
				}
			}
		})
	}
}

// TestUnknownArguments: an argument a command does not take is an error, and nothing
// runs.
func TestUnknownArguments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"serve", "now"}, `unexpected argument "now"`},
		{[]string{"serve", "--port", "9000"}, "flag provided but not defined: -port"},
		{[]string{"audit", "yesterday"}, `unexpected argument "yesterday"`},
		{[]string{"audit", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"audit", "--since", "soon"}, `--since "soon"`},
		{[]string{"digest", "--date", "soon"}, `--date "soon" is not a date`},
		{[]string{"check", "all"}, `unexpected argument "all"`},
		{[]string{"version", "--short"}, "flag provided but not defined: -short"},
		{[]string{"version", "now"}, `unexpected argument "now"`},
		{[]string{"demo", "now"}, `unexpected argument "now"`},
		{[]string{"demo", "--port", "x"}, `--port "x"`},
		{[]string{"webhook", "send", "now"}, `unexpected argument "now"`},
		{[]string{"webhook", "bogus"}, `unknown command "bogus"`},
		{[]string{"help", "audit", "serve"}, "say which command"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			var stdout, stderr bytes.Buffer
			err := run(ctx, append([]string{"paylink"}, tt.args...), validEnv.lookup, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
			if out := stdout.String() + stderr.String(); strings.Contains(out, "paylink started") || strings.Contains(out, "paylink playground: http") {
				t.Errorf("it ran: %s", out)
			}
		})
	}
}

func TestBuildVersion(t *testing.T) {
	t.Parallel()
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	const rev = "0123456789abcdef0123456789abcdef01234567"
	tests := []struct {
		name    string
		ldflags string
		bi      *debug.BuildInfo
		want    string
	}{
		{"set at build time", "v1.4.0", &debug.BuildInfo{Main: debug.Module{Version: "v1.3.0"}}, "v1.4.0"},
		{"a tag the go command recorded", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.3.0"}}, "v1.3.0"},
		{"a pseudo-version", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261130200451-0123456789ab+dirty"}}, "v0.0.0-20261130200451-0123456789ab+dirty"},
		{"a revision, clean", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "false")}, "devel-0123456789ab"},
		{"a revision, with changes", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "true")}, "devel-0123456789ab-dirty"},
		{"nothing recorded", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "devel"},
		{"no build info", "", nil, "devel"},
		{"blank at build time", "  ", &debug.BuildInfo{Main: debug.Module{Version: "v1.3.0"}}, "v1.3.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := buildVersion(tt.ldflags, tt.bi); got != tt.want {
				t.Errorf("buildVersion = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestVersionCommand(t *testing.T) {
	t.Parallel()
	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"paylink", "version"}, env{}.lookup, &stdout, &stdout); err != nil {
		t.Fatal(err)
	}
	if want := "paylink " + currentVersion() + " (go"; !strings.HasPrefix(stdout.String(), want) {
		t.Errorf("printed %q, want it to start with %q", stdout.String(), want)
	}
}
