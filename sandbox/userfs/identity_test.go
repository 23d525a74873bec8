package userfs

import (
	"errors"
	"os"
	"slices"
	"testing"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// Invoker trusts SUDO_* only at euid 0 and only when they name one real
// user consistently; anything else is ErrInvoker, never a guess.
func TestInvoker(t *testing.T) {
	if os.Geteuid() != 0 {
		id, err := Invoker(env(map[string]string{"SUDO_UID": "0", "HOME": "/h"}))
		if err != nil || id.Switch || id.UID != os.Geteuid() || id.Home != "/h" {
			t.Errorf("not root: SUDO_* must be ignored: %+v %v", id, err)
		}
		t.Skip("the sudo cases need euid 0")
	}
	id, err := Invoker(env(map[string]string{"HOME": "/root"}))
	if err != nil || id.Switch || id.UID != 0 || id.Home != "/root" {
		t.Errorf("root without sudo: %+v %v", id, err)
	}
	id, err = Invoker(env(map[string]string{"SUDO_UID": "65534", "SUDO_GID": "65534", "SUDO_USER": "nobody", "HOME": "/home/someone"}))
	if err != nil || !id.Switch || id.UID != 65534 || id.GID != 65534 || id.Name != "nobody" || id.Home == "/home/someone" || !slices.Contains(id.Groups, 65534) || slices.Contains(id.Groups, 0) {
		t.Errorf("sudo by nobody: %+v %v", id, err)
	}
	id, err = Invoker(env(map[string]string{"SUDO_UID": "0", "SUDO_GID": "0", "SUDO_USER": "root"}))
	if err != nil || id.Switch {
		t.Errorf("sudo by root: %+v %v", id, err)
	}
	for _, bad := range []map[string]string{
		{"SUDO_UID": "65534", "SUDO_USER": "root"},
		{"SUDO_UID": "x"},
		{"SUDO_UID": "-1"},
		{"SUDO_UID": "4294967295"},
		{"SUDO_UID": "2000000000"}, // no such user
		{"SUDO_UID": "65534", "SUDO_GID": "abc"},
		{"SUDO_UID": "65534", "SUDO_GID": "-1"},
	} {
		if id, err := Invoker(env(bad)); !errors.Is(err, ErrInvoker) {
			t.Errorf("%v: %+v %v, want ErrInvoker", bad, id, err)
		}
	}
}
