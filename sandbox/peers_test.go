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

// TestPeerDiagram: mounts under the subtree land in their group's rows,
// one role per namespace; loose mounts last; the host's share is found
// anywhere in its table.
func TestPeerDiagram(t *testing.T) {
	tables := []MountTable{
		{Name: "host", Host: true, Mounts: []Mount{{Mountpoint: "/", Propagation: "shared:1"}, {Mountpoint: "/srv", Propagation: "shared:40"}}},
		{Name: "sandbox", Mounts: []Mount{
			{Mountpoint: "/", Propagation: "private"},
			{Mountpoint: "/mnt", Propagation: "private"},
			{Mountpoint: "/mnt/src", Propagation: "shared:40"},
			{Mountpoint: "/mnt/peer", Propagation: "shared:40"},
			{Mountpoint: "/mnt/slave", Propagation: "master:40"},
			{Mountpoint: "/mnt/u", Propagation: "unbindable"},
			{Mountpoint: "/mnt/src", Propagation: "shared:41"}, // stacked
		}},
		{Name: "second", Mounts: []Mount{{Mountpoint: "/mnt/src", Propagation: "shared:40"}, {Mountpoint: "/mnt/slave", Propagation: "shared:42 master:40"}}},
	}
	d := NewPeerDiagram(tables, "/mnt")
	want := []DiagramGroup{
		{ID: 40, Rows: []PeerRow{
			{"/mnt/peer", []string{"", RoleMember, ""}},
			{"/mnt/slave", []string{"", RoleSlave, RoleSlave}},
			{"/mnt/src", []string{"", RoleMember, RoleMember}},
		}},
		{ID: 41, Rows: []PeerRow{{"/mnt/src (2)", []string{"", RoleMember, ""}}}},
		{ID: 42, Rows: []PeerRow{{"/mnt/slave", []string{"", "", RoleMember}}}},
		{ID: 0, Rows: []PeerRow{{"/mnt", []string{"", RolePrivate, ""}}, {"/mnt/u", []string{"", RoleUnbindable, ""}}}},
	}
	if !reflect.DeepEqual(d.Groups, want) {
		t.Errorf("groups %+v\nwant   %+v", d.Groups, want)
	}
	if !reflect.DeepEqual(d.HostShares, []int{40}) {
		t.Errorf("host shares %v, want [40] (its /srv is in group 40)", d.HostShares)
	}
	if d.Tables[1].Mounts != nil || d.Tables[1].Name != "sandbox" {
		t.Errorf("tables keep their mounts or lose their names: %+v", d.Tables[1])
	}
}
