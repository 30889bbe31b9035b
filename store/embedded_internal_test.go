package store

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/alicebob/miniredis/v2"
)

// watchVersions counts the WATCH versions miniredis keeps in its first database.
func watchVersions(m *miniredis.Miniredis) int {
	m.Lock()
	defer m.Unlock()
	it := reflect.ValueOf(m).Elem().FieldByName("dbs").MapRange()
	for it.Next() {
		return it.Value().Elem().FieldByName("keyVersion").Len()
	}
	return 0
}

// TestForgetGoneKeys: the pinned miniredis still has the fields forgetGoneKeys prunes
// (a version that moves them makes this fail rather than let the memory grow again),
// and WATCH versions of deleted keys go while live keys keep theirs.
func TestForgetGoneKeys(t *testing.T) {
	m := miniredis.RunT(t)
	m.Set("live", "1")
	for i := range 100 {
		k := fmt.Sprint("gone-", i)
		m.Set(k, "1")
		m.Del(k)
	}
	if n := watchVersions(m); n != 101 {
		t.Fatalf("%d WATCH versions before pruning, want 101 (the deleted keys' too)", n)
	}
	if !forgetGoneKeys(m) {
		t.Fatal("miniredis's fields are not where forgetGoneKeys looks: the embedded Redis's memory would grow without bound")
	}
	if n := watchVersions(m); n != 1 {
		t.Errorf("%d WATCH versions after pruning, want the live key's alone", n)
	}
	if got := m.Keys(); len(got) != 1 || got[0] != "live" {
		t.Errorf("keys after pruning = %v, want live alone", got)
	}
}
