package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nslab/nslab/lessons"
)

// TestRunPrediction: `nslab run` waits for the prediction; input that
// ends first stops the run with exit 1, says what to do and keeps the
// progress (with the seed drawn for the learner). The seed in the
// progress file orders the choices the same way on every run; --seed
// changes the order.
func TestRunPrediction(t *testing.T) {
	needRoot(t)
	utsReady(t)
	before := readHost(t)
	home := t.TempDir()
	env := []string{"HOME=" + home}
	path := filepath.Join(home, ".local", "state", "nslab", "progress.json")

	r := nslab(t, invocation{args: []string{"run", "uts", "--plain"}, env: env, stdin: strings.NewReader("perhaps\n")})
	if r.code != exitFailed || !strings.Contains(r.stdout, `"perhaps" is not one of the choices`) ||
		!strings.Contains(r.stderr, "no answer to the prediction") || !strings.Contains(r.stderr, "--answer N") {
		t.Fatalf("input ended at the prediction:\n%s", r)
	}
	p, _, err := lessons.LoadProgress(path)
	if err != nil || p.Seed == 0 || p.Get("uts").Status != lessons.StatusInProgress || p.Get("uts").Part != lessons.PartPredict {
		t.Fatalf("progress after stopping at the prediction: seed %d, %+v, %v", p.Seed, p.Get("uts"), err)
	}

	locked := regexp.MustCompile(`Locked in: 2\) (.*)\. Perform`)
	choice := func(args ...string) string {
		t.Helper()
		r := nslab(t, invocation{args: append([]string{"run", "uts", "--plain", "--solve", "--answer", "2"}, args...), env: env})
		m := locked.FindStringSubmatch(r.stdout)
		if r.code != 0 || m == nil {
			t.Fatalf("run uts --answer 2 %v:\n%s", args, r)
		}
		return m[1]
	}
	first, again := choice(), choice()
	if first != again {
		t.Errorf("the same seed showed %q, then %q, as choice 2", first, again)
	}
	seeds := map[string]bool{}
	for _, s := range []string{"0", "1", "2"} {
		seeds[choice("--seed", s)] = true
	}
	if len(seeds) != 3 {
		t.Errorf("three seeds gave %d different second choices: %v", len(seeds), seeds)
	}
	p, _, err = lessons.LoadProgress(path)
	if err != nil || !p.Get("uts").Predicted {
		t.Errorf("the prediction is not in the progress: %+v %v", p.Get("uts"), err)
	}
	checkHostUnchanged(t, before)
}

// TestProgressShowsHowFinished: `nslab progress` tells a lesson solved
// alone from one solved after hints and one whose solution was shown, and
// says when an older nslab did not record it; it shows the prediction
// score. The file holds a record as older nslab wrote it.
func TestProgressShowsHowFinished(t *testing.T) {
	home := t.TempDir()
	path := filepath.Join(home, ".local", "state", "nslab", "progress.json")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	file := `{"version": 1, "lessons": {
  "overview": {"status": "done", "part": "recap", "updated": "2026-11-30T10:00:00Z", "predicted": true, "predicted_right": true, "challenge_done": true},
  "uts": {"status": "done", "part": "recap", "updated": "2026-11-30T10:00:00Z", "predicted": true, "challenge_done": true, "hints_used": 2, "finish": "hints", "finish_hints": 2},
  "pid": {"status": "done", "part": "recap", "updated": "2026-11-30T10:00:00Z", "challenge_done": true, "solution_shown": true, "finish": "solution"},
  "mnt": {"status": "done", "part": "recap", "updated": "2026-11-30T10:00:00Z", "challenge_done": true, "finish": "solved"}
}}`
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	r := nslab(t, invocation{args: []string{"progress"}, env: []string{"HOME=" + home}})
	if r.code != 0 {
		t.Fatal(r)
	}
	for _, want := range []string{
		"Predictions: 1 of 2 right",
		"solved (how not recorded)",
		"solved after 2 hints",
		"solution shown",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("progress lacks %q:\n%s", want, r.stdout)
		}
	}
	if !regexp.MustCompile(`(?m)^mnt +done +recap +solved +- `).MatchString(r.stdout) {
		t.Errorf("mnt's line:\n%s", r.stdout)
	}
	r = nslab(t, invocation{args: []string{"progress", "--json"}, env: []string{"HOME=" + home}})
	if r.code != 0 || !strings.Contains(r.stdout, `"finish": "solution"`) {
		t.Errorf("progress --json:\n%s", r)
	}
}

// TestPlainShellOnTerminal: on a terminal, plain mode takes the answer
// typed, offers `shell` at the experiment prompt, and that shell runs
// inside the sandbox (its hostname) until exit, back to the lesson; the
// run then quits at the challenge with the host as it was.
func TestPlainShellOnTerminal(t *testing.T) {
	needRoot(t)
	utsReady(t)
	before := readHost(t)
	cmd := exec.Command(needBinary(t), "run", "uts", "--plain")
	cmd.Env = baseEnv(t.TempDir())
	master, slave := fiOpenPty(t)
	defer master.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0, Pdeathsig: syscall.SIGKILL}
	err := cmd.Start()
	slave.Close()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	out := &lockedBuffer{}
	go func() { _, _ = io.Copy(out, master) }()
	waitFor := func(s string) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !strings.Contains(out.String(), s); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				t.Fatalf("no %q on the terminal:\n%s", s, out.String())
			}
		}
	}
	typeLine := func(s string) {
		t.Helper()
		if _, err := master.Write([]byte(s + "\r")); err != nil {
			t.Fatal(err)
		}
	}
	waitFor("a number from 1 to 3: ")
	typeLine("2")
	waitFor("experiment> ")
	if !strings.Contains(out.String(), "type shell at the prompt") {
		t.Errorf("plain mode on a terminal does not offer shell:\n%s", out.String())
	}
	typeLine("shell")
	waitFor("[nslab:")
	typeLine("echo in-$(hostname)-box")
	waitFor("in-sandbox-box")
	typeLine("exit")
	waitFor("Back from the shell.")
	typeLine("")
	waitFor("challenge> ")
	typeLine("quit")
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("nslab did not end after quit:\n%s", out.String())
	}
	if code, _ := fiExit(err); code != exitFailed {
		t.Errorf("exit %v, want %d (quit)", err, exitFailed)
	}
	checkHostUnchanged(t, before)
}
