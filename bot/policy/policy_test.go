package policy

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/slack-go/slack"

	"github.com/paylink/paylink/store"
)

// groupsOf is a Slack that knows one user group, or fails.
type groupsOf map[string][]string

func (g groupsOf) GetUserGroupMembersContext(_ context.Context, group string, _ ...slack.GetUserGroupMembersOption) ([]string, error) {
	if g == nil {
		return nil, errors.New("slack down")
	}
	return g[group], nil
}

func TestRefuse(t *testing.T) {
	p := Policy{
		Channels:   map[string]bool{"C1": true},
		Users:      map[string]bool{"U1": true},
		Usergroups: []string{"S1"},
		Admins:     map[string]bool{"UA": true},
	}
	groups := NewGroups(groupsOf{"S1": {"U2"}}, nil)
	tests := []struct {
		user, channel string
		allowed       bool
	}{
		{"U1", "C1", true},  // listed user, listed channel
		{"U2", "C1", true},  // user group member
		{"U3", "C1", false}, // neither
		{"U1", "C2", false}, // channel not listed
		{"UA", "C9", true},  // admins pass every list
	}
	for _, tt := range tests {
		if got := p.Refuse(context.Background(), groups, tt.user, tt.channel) == ""; got != tt.allowed {
			t.Errorf("Refuse(%s in %s): allowed %v, want %v", tt.user, tt.channel, got, tt.allowed)
		}
	}
	if msg := p.Refuse(context.Background(), NewGroups(groupsOf(nil), nil), "U3", "C1"); msg == "" {
		t.Error("a user Slack could not place in a group was let through")
	}
	if (Policy{}).Refuse(context.Background(), groups, "anyone", "anywhere") != "" {
		t.Error("the zero Policy refused")
	}
}

func TestMayViewAndCancel(t *testing.T) {
	p := Policy{Admins: map[string]bool{"UA": true}}
	rec := &store.Link{ChannelID: "C1", UserID: "U1"}
	if !p.MayView(rec, "U2", "C1") || p.MayView(rec, "U2", "C2") || !p.MayView(rec, "U1", "C2") || !p.MayView(rec, "UA", "C2") {
		t.Error("MayView: a link shows in its channel, and elsewhere to its agent and admins only")
	}
	if !p.MayCancel(rec, "U1") || !p.MayCancel(rec, "UA") || p.MayCancel(rec, "U2") {
		t.Error("MayCancel: its agent and admins only")
	}
}

func TestMayRefund(t *testing.T) {
	p := Policy{Admins: map[string]bool{"UA": true}, Refunders: map[string]bool{"UR": true}}
	for user, want := range map[string]bool{"UA": true, "UR": true, "U1": false, "": false} {
		if got := p.MayRefund(user); got != want {
			t.Errorf("MayRefund(%q) = %v, want %v", user, got, want)
		}
	}
}

// slowGroups answers a user-group look-up only once release is closed, counting calls.
type slowGroups struct {
	calls   atomic.Int32
	release chan struct{}
}

func (s *slowGroups) GetUserGroupMembersContext(ctx context.Context, group string, _ ...slack.GetUserGroupMembersOption) ([]string, error) {
	s.calls.Add(1)
	<-s.release
	return []string{"U2"}, nil
}

// TestGroupLookupsShared: many commands needing one group's members at the same moment
// make one call to Slack, and all get its answer.
func TestGroupLookupsShared(t *testing.T) {
	api := &slowGroups{release: make(chan struct{})}
	groups := NewGroups(api, nil)
	p := Policy{Usergroups: []string{"S1"}}
	const n = 50
	answers := make(chan string, n)
	var asking sync.WaitGroup
	asking.Add(n)
	for range n {
		go func() {
			asking.Done()
			answers <- p.Refuse(context.Background(), groups, "U2", "C1")
		}()
	}
	// Every command asks while the first call to Slack is open: none can finish first.
	asking.Wait()
	for api.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	close(api.release)
	for range n {
		if msg := <-answers; msg != "" {
			t.Errorf("a member was refused: %q", msg)
		}
	}
	if c := api.calls.Load(); c != 1 {
		t.Errorf("%d calls to Slack for one group at one moment, want 1", c)
	}
}

// countingGroups knows one user group and counts the calls to Slack.
type countingGroups struct {
	calls   atomic.Int32
	members []string
}

func (c *countingGroups) GetUserGroupMembersContext(context.Context, string, ...slack.GetUserGroupMembersOption) ([]string, error) {
	c.calls.Add(1)
	return c.members, nil
}

// TestGroupListKeptForTTL: a group's members are asked of Slack again only once the
// cached list is older than GroupTTL by the cache's clock.
func TestGroupListKeptForTTL(t *testing.T) {
	clock := clockwork.NewFakeClock()
	api := &countingGroups{members: []string{"U2"}}
	groups := NewGroups(api, clock)
	p := Policy{Usergroups: []string{"S1"}, GroupTTL: time.Minute}
	steps := []struct {
		advance time.Duration
		calls   int32
	}{
		{0, 1},
		{time.Minute, 1},
		{time.Nanosecond, 2},
		{30 * time.Second, 2},
		{31 * time.Second, 3},
	}
	for i, st := range steps {
		clock.Advance(st.advance)
		if msg := p.Refuse(context.Background(), groups, "U2", "C1"); msg != "" {
			t.Fatalf("step %d: a member was refused: %q", i, msg)
		}
		if got := api.calls.Load(); got != st.calls {
			t.Errorf("step %d: %d calls to Slack, want %d", i, got, st.calls)
		}
	}
}
