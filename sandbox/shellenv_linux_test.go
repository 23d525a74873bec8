package sandbox

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The real shell in a real sandbox, started by root with someone else's
// environment (what `sudo -E nslab` passes): $SHELL not in /etc/shells is
// not run, no variable that makes a shell or the loader run a file
// survives, and HOME, PATH are root's. Each marker would be made if that
// variable reached the shell.
func TestRootShellIgnoresForeignEnvironment(t *testing.T) {
	eng := newEngine(t)
	if _, err := os.Stat("/bin/bash"); err != nil {
		t.Skip("no /bin/bash:", err)
	}
	dir := t.TempDir()
	marker := func(name string) string { return filepath.Join(dir, name) }
	evil := filepath.Join(dir, "evil-shell")
	if err := os.WriteFile(evil, []byte("#!/bin/sh\ntouch "+marker("shell")+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	rc := filepath.Join(dir, "rc")
	if err := os.WriteFile(rc, []byte("touch "+marker("rc-ran")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SHELL", evil)
	t.Setenv("BASH_ENV", rc)
	t.Setenv("ENV", rc)
	t.Setenv("PROMPT_COMMAND", "touch "+marker("prompt"))
	t.Setenv("HOME", dir)
	t.Setenv("PATH", dir+":/usr/bin:/bin")
	t.Setenv("PAGER", evil)
	sb := start(t, eng, Spec{Flags: CloneNewUTS, Rootless: RootlessNever, Label: "env"})
	cmd, err := sb.ShellCommand()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin = strings.NewReader("echo \"zero=$0\"; env; exit\n")
	cmd.Stdout, cmd.Stderr = nil, nil
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	s := string(out)
	for _, want := range []string{"zero=/bin/bash", "HOME=" + rootHome() + "\n", "PATH=" + rootPath + "\n", "SHELL=/bin/bash\n", "NSLAB_SANDBOX=env\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("shell output lacks %q:\n%s", want, s)
		}
	}
	for _, bad := range []string{"BASH_ENV=", "\nENV=", "PROMPT_COMMAND=", "PAGER=", dir + ":", "_NSLAB_"} {
		if strings.Contains(s, bad) {
			t.Errorf("shell output has %q:\n%s", bad, s)
		}
	}
	for _, m := range []string{"shell", "rc-ran", "prompt"} {
		if _, err := os.Stat(marker(m)); err == nil {
			t.Errorf("the %s marker was made: someone else's file ran in the root shell", m)
		}
	}
	// The markers can be made: the same environment given straight to
	// bash -i runs PROMPT_COMMAND.
	ctl := exec.Command("/bin/bash", "--norc", "--noprofile", "-i")
	ctl.Env = []string{"PROMPT_COMMAND=touch " + marker("prompt"), "PATH=/usr/bin:/bin"}
	ctl.Stdin = strings.NewReader("exit\n")
	if out, err := ctl.CombinedOutput(); err != nil {
		t.Fatalf("control: %v\n%s", err, out)
	}
	if _, err := os.Stat(marker("prompt")); err != nil {
		t.Errorf("control: PROMPT_COMMAND did not make its marker: %v", err)
	}
}
