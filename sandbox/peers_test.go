package sandbox

import (
	"reflect"
	"testing"
)

func TestPeerGroups(t *testing.T) {
	ms := []Mount{
		{Mountpoint: "/", Propagation: "private"},
		{Mountpoint: "/a", Propagation: "shared:7"},
		{Mountpoint: "/b", Propagation: "shared:7"},
		{Mountpoint: "/s", Propagation: "master:7"},
		{Mountpoint: "/both", Propagation: "shared:9 master:7"},
		{Mountpoint: "/a", Propagation: "shared:3"}, // stacked on /a
		{Mountpoint: "/far", Propagation: "master:12"},
	}
	want := []PeerGroup{
		{ID: 3, Members: []string{"/a (2)"}},
		{ID: 7, Members: []string{"/a", "/b"}, Slaves: []string{"/both", "/s"}},
		{ID: 9, Members: []string{"/both"}},
		{ID: 12, Slaves: []string{"/far"}},
	}
	if got := PeerGroups(ms); !reflect.DeepEqual(got, want) {
		t.Errorf("PeerGroups = %+v\nwant %+v", got, want)
	}
	if got := want[1].String(); got != "/a /b → slaves /both /s" {
		t.Errorf("String = %q", got)
	}
	if got := want[3].String(); got != "(no member here) → slaves /far" {
		t.Errorf("String = %q", got)
	}
	rows := Diff(Snapshot{}, Snapshot{Mounts: ms}, ViewPeers)
	if len(rows) != 4 || rows[0].Key != "peer group 3" || rows[0].Kind != OnlySandbox {
		t.Errorf("rows %+v", rows)
	}
	// A private-only table has no group; a wrong field is no group.
	if g := PeerGroups([]Mount{{Mountpoint: "/", Propagation: "private"}, {Mountpoint: "/x", Propagation: "shared:x"}}); len(g) != 0 {
		t.Errorf("groups of a private table: %+v", g)
	}
}
