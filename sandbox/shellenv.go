package sandbox

import (
	"path/filepath"
	"strings"
)

// The shell nslab starts inside a sandbox. As root (sudo nslab) it is a
// root shell, and nslab's environment came from someone else: with
// `sudo -E` or env_keep it is the learner's, so LD_PRELOAD, BASH_ENV, ENV,
// PROMPT_COMMAND, ZDOTDIR, TERMINFO, a PATH through their home ... would
// all run or load their choice as root. So a root shell gets an allowlist:
// the terminal and locale variables (values checked), and HOME, USER,
// LOGNAME, SHELL and PATH set by nslab, as sudo's env_reset would. As an
// ordinary user the shell is theirs (root only inside their own user
// namespace) and keeps their environment.

// rootPath is PATH for a root shell (sudo's usual secure_path).
const rootPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// termValue reports whether v can name a terminfo entry: 1 to 64 of
// [A-Za-z0-9._+-], starting with a letter or digit. Plain loops, not a
// regexp: a package-level regexp is compiled in every agent's start (the
// agent is this binary re-executed), and {0,63} makes a large program.
func termValue(v string) bool {
	if len(v) == 0 || len(v) > 64 || !alnum(v[0]) {
		return false
	}
	return allOf(v, "._+-")
}

// localeValue reports whether v can be a locale name: 1 to 64 of
// [A-Za-z0-9_.@:-].
func localeValue(v string) bool {
	return len(v) >= 1 && len(v) <= 64 && allOf(v, "_.@:-")
}

func alnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// allOf reports whether every byte of v is an ASCII letter or digit or
// one of extra.
func allOf(v, extra string) bool {
	for i := 0; i < len(v); i++ {
		if !alnum(v[i]) && strings.IndexByte(extra, v[i]) < 0 {
			return false
		}
	}
	return true
}

// keptForRoot says which variables a root shell keeps, each with its check.
func keptForRoot(name, value string) bool {
	switch {
	case name == "TERM":
		// Names a terminfo entry: no path, nothing odd.
		return termValue(value)
	case name == "COLORTERM", name == "NO_COLOR":
		return len(value) <= 32 && !strings.ContainsAny(value, "/\x00\n")
	case name == "LANG", name == "LANGUAGE", strings.HasPrefix(name, "LC_"):
		// A locale name, never a path (glibc loads a locale given as a path).
		return localeValue(value) && !strings.Contains(value, "..")
	}
	return false
}

// shellEnv is the environment for a shell inside a sandbox, from the
// environment nslab has (environ). asRoot: the shell runs as root on the
// host's behalf; home is root's home from the password database.
func shellEnv(environ []string, asRoot bool, home string) []string {
	var out []string
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || strings.HasPrefix(name, "_NSLAB_") {
			continue
		}
		if !asRoot {
			out = append(out, kv)
			continue
		}
		if keptForRoot(name, value) {
			out = append(out, kv)
		}
	}
	if asRoot {
		if home == "" {
			home = "/root"
		}
		out = append(out, "HOME="+home, "USER=root", "LOGNAME=root", "PATH="+rootPath)
	}
	return out
}

// noRC is how each shell nslab knows is started interactively without
// reading any user's startup files: the prompt must say where the learner
// is, and a root shell must not run a learner's rc file. zsh -f still
// reads /etc/zshenv (root's own file); sh and dash read only $ENV, which a
// root shell never gets. ok is false for a shell nslab does not know.
func noRC(name string) (flags []string, ok bool) {
	switch name {
	case "bash":
		return []string{"--norc", "--noprofile", "-i"}, true
	case "zsh":
		return []string{"-f", "-i"}, true
	case "dash", "sh":
		return []string{"-i"}, true
	}
	return nil, false
}

// chooseShell picks the shell: $SHELL when /etc/shells (root's list, read
// as etcShells) lists it and nslab knows how to start it without rc
// files, else /bin/bash, else /bin/sh. executable says whether a path is
// an executable file (in the sandbox's view).
func chooseShell(shell, etcShells string, executable func(string) bool) []string {
	listed := map[string]bool{}
	for _, line := range strings.Split(etcShells, "\n") {
		if line = strings.TrimSpace(line); strings.HasPrefix(line, "/") {
			listed[line] = true
		}
	}
	try := func(path string) []string {
		if path == "" || path != filepath.Clean(path) || !filepath.IsAbs(path) || !executable(path) {
			return nil
		}
		flags, ok := noRC(filepath.Base(path))
		if !ok {
			return nil
		}
		return append([]string{path}, flags...)
	}
	if listed[shell] {
		if argv := try(shell); argv != nil {
			return argv
		}
	}
	for _, c := range []string{"/bin/bash", "/bin/sh"} {
		if argv := try(c); argv != nil {
			return argv
		}
	}
	return []string{"/bin/sh", "-i"}
}
