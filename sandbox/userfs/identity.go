// Package userfs does nslab's file work in a learner's home on the
// learner's behalf: with the learner's own file-system credentials, and
// never through a symlink.
//
// Under sudo nslab runs as root, but the progress file belongs to the
// learner who typed `sudo nslab`. Root skips every permission check, so a
// path the learner chose (a symlink in their home, XDG_STATE_HOME kept by
// `sudo -E`) could otherwise make root create or rename files anywhere.
// Here every open, mkdir, rename and unlink in the learner's state runs
// with the learner's fsuid, fsgid and groups (so the kernel checks what the
// learner could do), and every path component is opened without following
// a symlink (openat2 RESOLVE_NO_SYMLINKS, or O_NOFOLLOW one component at a
// time where openat2 is missing).
package userfs

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
)

// ErrInvoker: the SUDO_* variables do not name a user nslab can act for.
var ErrInvoker = errors.New("cannot tell who ran sudo")

// Identity is whose credentials nslab's file work uses.
type Identity struct {
	UID, GID int
	// Groups are the supplementary groups (used only when Switch is set).
	Groups []int
	// Name is the user name, when known (for messages).
	Name string
	// Home is the learner's home: from the password database when nslab
	// acts for someone else (their HOME may be root's, or anything under
	// `sudo -E`), else $HOME.
	Home string
	// Switch is set when nslab runs as root on behalf of another user:
	// file work then runs with UID, GID and Groups (see FS.Do).
	Switch bool
}

// String names the identity for messages: "learner (uid 1001)".
func (id Identity) String() string {
	if id.Name != "" {
		return fmt.Sprintf("%s (uid %d)", id.Name, id.UID)
	}
	return fmt.Sprintf("uid %d", id.UID)
}

// Self is this process acting for itself (no credential change).
func Self(getenv func(string) string) Identity {
	return Identity{UID: os.Geteuid(), GID: os.Getegid(), Home: getenv("HOME")}
}

// maxID keeps ids away from -1 (uint32 4294967295), which setfsuid and
// friends read as "leave unchanged".
const maxID = 1<<31 - 1

// Invoker says for whom nslab works. As an ordinary user, or as root not
// started by sudo, that is the process itself. As root with sudo's
// SUDO_UID (which sudo always sets itself, whatever env_keep or -E
// preserve), it is the user who ran sudo: their uid, the gid sudo reports
// (SUDO_GID), their groups and home from the password database. SUDO_USER,
// when set, must name the same user; any inconsistency is ErrInvoker, so
// that nslab touches no file rather than guess.
func Invoker(getenv func(string) string) (Identity, error) {
	if os.Geteuid() != 0 || getenv("SUDO_UID") == "" {
		return Self(getenv), nil
	}
	uid, err := strconv.Atoi(getenv("SUDO_UID"))
	if err != nil || uid < 0 || uid > maxID {
		return Identity{}, fmt.Errorf("%w: SUDO_UID=%q is not a user id", ErrInvoker, getenv("SUDO_UID"))
	}
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return Identity{}, fmt.Errorf("%w: SUDO_UID=%d has no entry in the password database: %w", ErrInvoker, uid, err)
	}
	if name := getenv("SUDO_USER"); name != "" && name != u.Username {
		return Identity{}, fmt.Errorf("%w: SUDO_USER=%q but SUDO_UID=%d is %s", ErrInvoker, name, uid, u.Username)
	}
	gid, err := strconv.Atoi(u.Gid)
	if s := getenv("SUDO_GID"); s != "" {
		gid, err = strconv.Atoi(s)
	}
	if err != nil || gid < 0 || gid > maxID {
		return Identity{}, fmt.Errorf("%w: SUDO_GID=%q is not a group id", ErrInvoker, getenv("SUDO_GID"))
	}
	id := Identity{UID: uid, GID: gid, Name: u.Username, Home: u.HomeDir, Switch: uid != 0}
	if !id.Switch {
		return id, nil // root ran sudo: root acting for root
	}
	// The groups the learner has at login. If they cannot be listed, none
	// but the primary: fewer rights, never root's.
	id.Groups = []int{gid}
	if gs, err := u.GroupIds(); err == nil {
		id.Groups = id.Groups[:0]
		for _, g := range gs {
			if n, err := strconv.Atoi(g); err == nil && n >= 0 && n <= maxID {
				id.Groups = append(id.Groups, n)
			}
		}
	}
	return id, nil
}
