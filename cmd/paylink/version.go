package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
)

// version is paylink's release, set at build time with
// -ldflags "-X main.version=v1.2.3". Unset, buildVersion reads it from the build info.
var version string

const versionUsage = `usage: paylink version

Prints paylink's version (the one paylink_build_info reports on /metrics), the Go
version it was built with, and its source revision when the build recorded it.
`

// buildVersion is paylink's version: the one set at build time, else the module
// version the go command recorded (a tag or pseudo-version), else the source revision,
// else "devel".
func buildVersion(ldflags string, bi *debug.BuildInfo) string {
	if v := strings.TrimSpace(ldflags); v != "" {
		return v
	}
	if bi == nil {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	if rev, modified := vcsRevision(bi); rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		v := "devel-" + rev
		if modified {
			v += "-dirty"
		}
		return v
	}
	return "devel"
}

// vcsRevision is the source revision the build recorded, and whether the tree had
// uncommitted changes.
func vcsRevision(bi *debug.BuildInfo) (rev string, modified bool) {
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	return rev, modified
}

// currentVersion is this binary's version.
func currentVersion() string {
	bi, _ := debug.ReadBuildInfo()
	return buildVersion(version, bi)
}

// runVersion prints the version.
func runVersion(args []string, stdout io.Writer) error {
	fs := newSubcommandFlags("version", versionUsage, stdout)
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	fmt.Fprintf(stdout, "paylink %s (%s, %s/%s", currentVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if bi, ok := debug.ReadBuildInfo(); ok {
		if rev, modified := vcsRevision(bi); rev != "" {
			fmt.Fprintf(stdout, ", revision %s", rev)
			if modified {
				fmt.Fprint(stdout, " with local changes")
			}
		}
	}
	fmt.Fprintln(stdout, ")")
	return nil
}
