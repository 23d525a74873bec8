package sandbox

import (
	"slices"
	"strings"
	"testing"
)

// What someone else's environment (sudo -E, env_keep) could carry into a
// root shell.
var hostileEnv = []string{
	"LD_PRELOAD=/home/l/evil.so", "LD_LIBRARY_PATH=/home/l/lib", "BASH_ENV=/home/l/rc", "ENV=/home/l/rc",
	"PROMPT_COMMAND=/home/l/run", "ZDOTDIR=/home/l", "TERMINFO=/home/l/ti", "TERMINFO_DIRS=/home/l",
	"HOME=/home/l", "PATH=/home/l/bin:/usr/bin", "SHELL=/home/l/evil", "PAGER=/home/l/p", "EDITOR=/home/l/e",
	"XDG_CONFIG_HOME=/home/l/cfg", "XDG_STATE_HOME=/R", "SUDO_USER=l", "GODEBUG=x", "PYTHONPATH=/home/l",
	"LOCPATH=/home/l/loc", "LC_ALL=../../home/l/loc", "LANGUAGE=/home/l",
	"TERM=../../home/l/ti", "_NSLAB_ENTER_PID=1",
	"LANG=C.UTF-8", "COLORTERM=truecolor", "LC_CTYPE=en_US.UTF-8", "NO_COLOR=1",
}

func TestShellEnvForRoot(t *testing.T) {
	env := shellEnv(hostileEnv, true, "/root")
	want := []string{"LANG=C.UTF-8", "COLORTERM=truecolor", "LC_CTYPE=en_US.UTF-8", "NO_COLOR=1",
		"HOME=/root", "USER=root", "LOGNAME=root", "PATH=" + rootPath}
	if !slices.Equal(env, want) {
		t.Errorf("root shell env:\n got %q\nwant %q", env, want)
	}
	if env := shellEnv([]string{"TERM=xterm-256color"}, true, ""); !slices.Contains(env, "TERM=xterm-256color") || !slices.Contains(env, "HOME=/root") {
		t.Errorf("a plain TERM was dropped: %q", env)
	}
}

// As an ordinary user the shell keeps the user's own environment (minus
// nslab's private variables): no one else's rights are at stake.
func TestShellEnvForTheUser(t *testing.T) {
	env := shellEnv(hostileEnv, false, "/root")
	if len(env) != len(hostileEnv)-1 || slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "_NSLAB_") }) {
		t.Errorf("user shell env: %q", env)
	}
}

func TestChooseShell(t *testing.T) {
	const etc = "# /etc/shells\n/bin/sh\n/bin/bash\n/usr/bin/zsh\n/usr/bin/fish\n/bin/dash\n"
	all := func(string) bool { return true }
	noBash := func(p string) bool { return p != "/bin/bash" }
	for _, tc := range []struct {
		shell string
		exec  func(string) bool
		want  string
	}{
		{"/bin/bash", all, "/bin/bash --norc --noprofile -i"},
		{"/usr/bin/zsh", all, "/usr/bin/zsh -f -i"},
		{"/bin/dash", all, "/bin/dash -i"},
		{"/home/l/evil", all, "/bin/bash --norc --noprofile -i"},        // not in /etc/shells
		{"/home/l/bash", all, "/bin/bash --norc --noprofile -i"},        // named bash, not listed
		{"/usr/bin/fish", all, "/bin/bash --norc --noprofile -i"},       // listed, but no known way without rc files
		{"/usr/bin/../bin/zsh", all, "/bin/bash --norc --noprofile -i"}, // not the listed spelling
		{"", all, "/bin/bash --norc --noprofile -i"},
		{"/home/l/evil", noBash, "/bin/sh -i"},
		{"/usr/bin/zsh", func(p string) bool { return p != "/usr/bin/zsh" }, "/bin/bash --norc --noprofile -i"},
		{"", func(string) bool { return false }, "/bin/sh -i"},
	} {
		if got := strings.Join(chooseShell(tc.shell, etc, tc.exec), " "); got != tc.want {
			t.Errorf("SHELL=%q: %q, want %q", tc.shell, got, tc.want)
		}
	}
}
