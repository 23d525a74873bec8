package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// These tests need no root and no lock: `nslab class kube` only prints.

// kubeDocs splits a printed manifest into its YAML documents, each parsed
// back into plain maps by the same library a cluster's tools use.
func kubeDocs(t *testing.T, manifest string) []map[string]any {
	t.Helper()
	var docs []map[string]any
	for i, part := range strings.Split(manifest, "\n---\n") {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(part), &m); err != nil {
			t.Fatalf("document %d does not parse: %v\n%s", i, err, part)
		}
		if m != nil { // the header holds only comments
			docs = append(docs, m)
		}
	}
	return docs
}

// dig walks maps and lists: kubeDig(m, "spec", "ports", 0, "nodePort").
func kubeDig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func kubeDigInt(v any, path ...any) int {
	switch x := kubeDig(v, path...).(type) {
	case float64:
		return int(x)
	case int64:
		return int(x)
	}
	return -1
}

func kubeDigStr(v any, path ...any) string {
	s, _ := kubeDig(v, path...).(string)
	return s
}

func kubeOfKind(docs []map[string]any, kind string) []map[string]any {
	var out []map[string]any
	for _, d := range docs {
		if d["kind"] == kind {
			out = append(out, d)
		}
	}
	return out
}

// checkKubeManifest checks a kubernetes-target manifest for a class of n
// learners, m per pod: the counts, the ports, the selectors and the secret
// references must all agree. It returns what is wrong, so that the test
// can also show it failing on doctored manifests.
func checkKubeManifest(docs []map[string]any, n, m, base int, code string, privileged bool) []string {
	var bad []string
	badf := func(f string, a ...any) { bad = append(bad, fmt.Sprintf(f, a...)) }
	pods := (n + m - 1) / m

	secrets := kubeOfKind(docs, "Secret")
	if len(secrets) != 1 {
		badf("%d Secrets, want 1", len(secrets))
		return bad
	}
	secretName := kubeDigStr(secrets[0], "metadata", "name")
	if got := kubeDigStr(secrets[0], "stringData", "code"); got != code {
		badf("Secret %s has code %q, want %q", secretName, got, code)
	}

	sets := kubeOfKind(docs, "StatefulSet")
	if len(sets) != 1 {
		badf("%d StatefulSets, want 1", len(sets))
		return bad
	}
	sts := sets[0]
	name := kubeDigStr(sts, "metadata", "name")
	if r := kubeDigInt(sts, "spec", "replicas"); r != pods {
		badf("replicas %d, want %d pods for %d learners at %d a pod", r, pods, n, m)
	}
	match, _ := kubeDig(sts, "spec", "selector", "matchLabels").(map[string]any)
	tmplLabels, _ := kubeDig(sts, "spec", "template", "metadata", "labels").(map[string]any)
	for k, v := range match {
		if tmplLabels[k] != v {
			badf("the selector's %s=%v is not on the pod template", k, v)
		}
	}
	if len(match) == 0 {
		badf("the StatefulSet has no selector")
	}
	c := kubeDig(sts, "spec", "template", "spec", "containers", 0)
	args := fmt.Sprint(kubeDig(c, "args"))
	if !strings.Contains(args, "serve") || !strings.Contains(args, "--max-learners "+strconv.Itoa(m)) {
		badf("the container's args %s are not `serve ... --max-learners %d`", args, m)
	}
	if kubeDigStr(c, "env", 0, "name") != kubeCodeEnv ||
		kubeDigStr(c, "env", 0, "valueFrom", "secretKeyRef", "name") != secretName ||
		kubeDigStr(c, "env", 0, "valueFrom", "secretKeyRef", "key") != "code" {
		badf("the container's env %v does not take %s from Secret %s key code", kubeDig(c, "env"), kubeCodeEnv, secretName)
	}
	if kubeDigInt(c, "ports", 0, "containerPort") != kubeServePort || kubeDigStr(c, "ports", 0, "name") != "ssh" {
		badf("the container's port is %v, want ssh %d", kubeDig(c, "ports"), kubeServePort)
	}
	hostUsers := kubeDig(sts, "spec", "template", "spec", "hostUsers")
	priv := kubeDig(c, "securityContext", "privileged")
	if privileged && (priv != true || hostUsers != nil) {
		badf("--privileged: privileged=%v hostUsers=%v, want true and unset", priv, hostUsers)
	}
	if !privileged && (hostUsers != false || priv != nil) {
		badf("default: hostUsers=%v privileged=%v, want false and unset", hostUsers, priv)
	}
	if kubeDigStr(sts, "spec", "volumeClaimTemplates", 0, "metadata", "name") != kubeDigStr(c, "volumeMounts", 0, "name") {
		badf("the state volume claim and the mount differ")
	}

	// One NodePort Service per pod, selecting exactly that pod.
	seenPorts := map[int]bool{}
	perPod := 0
	for _, s := range kubeOfKind(docs, "Service") {
		if kubeDigStr(s, "spec", "clusterIP") == "None" {
			if kubeDigStr(s, "metadata", "name") != kubeDigStr(sts, "spec", "serviceName") {
				badf("headless Service %s is not the StatefulSet's serviceName", kubeDigStr(s, "metadata", "name"))
			}
			continue
		}
		perPod++
		np := kubeDigInt(s, "spec", "ports", 0, "nodePort")
		pod := kubeDigStr(s, "spec", "selector", "statefulset.kubernetes.io/pod-name")
		i, err := strconv.Atoi(strings.TrimPrefix(pod, name+"-"))
		if err != nil || i < 0 || i >= pods {
			badf("Service %s selects pod %q, not one of %s-0..%d", kubeDigStr(s, "metadata", "name"), pod, name, pods-1)
			continue
		}
		if np != base+i {
			badf("pod %s's node port is %d, want %d", pod, np, base+i)
		}
		if seenPorts[np] {
			badf("node port %d used twice", np)
		}
		seenPorts[np] = true
		if kubeDigStr(s, "spec", "type") != "NodePort" || kubeDigStr(s, "spec", "ports", 0, "targetPort") != "ssh" {
			badf("Service %s is not a NodePort to the ssh port", kubeDigStr(s, "metadata", "name"))
		}
	}
	if perPod != pods {
		badf("%d per-pod Services, want %d", perPod, pods)
	}
	return bad
}

func TestClassKubeManifest(t *testing.T) {
	for _, tc := range []struct {
		n, m, base int
		privileged bool
	}{
		{1, 1, 30022, false},
		{2, 1, 30022, true},
		{5, 2, 31000, false},
		{60, 60, 30022, false},
		{7, 40, 30022, true}, // more per pod than learners: one pod
		{200, 30, 32760, false},
	} {
		t.Run(fmt.Sprintf("n%d_m%d", tc.n, tc.m), func(t *testing.T) {
			args := []string{"class", "kube", "--learners", strconv.Itoa(tc.n), "--per-pod", strconv.Itoa(tc.m),
				"--port-base", strconv.Itoa(tc.base), "--code", "tulip-7", "--image", "registry.test/nslab:1"}
			if tc.privileged {
				args = append(args, "--privileged")
			}
			r := nslab(t, invocation{args: args})
			if r.code != 0 {
				t.Fatal(r)
			}
			docs := kubeDocs(t, r.stdout)
			if bad := checkKubeManifest(docs, tc.n, tc.m, tc.base, "tulip-7", tc.privileged); len(bad) > 0 {
				t.Fatalf("%s\n%s", strings.Join(bad, "\n"), r.stdout)
			}
			if img := kubeDigStr(kubeOfKind(docs, "StatefulSet")[0], "spec", "template", "spec", "containers", 0, "image"); img != "registry.test/nslab:1" {
				t.Errorf("image %q, want the --image", img)
			}
			if tc.privileged && !strings.Contains(r.stdout, "# nslab serve creates namespaces") {
				t.Errorf("--privileged does not say why in a comment:\n%s", r.stdout)
			}

			// The join lines: every learner once, no pod over --per-pod,
			// and every port one of the Services'.
			jr := nslab(t, invocation{args: append(args, "--join-lines", "--host", "node1.test")})
			if jr.code != 0 {
				t.Fatal(jr)
			}
			lines := strings.Split(strings.TrimSuffix(jr.stdout, "\n"), "\n")
			if len(lines) != tc.n {
				t.Fatalf("%d join lines for %d learners:\n%s", len(lines), tc.n, jr.stdout)
			}
			if bad := kubeCheckJoinLines(lines, tc.m, tc.base, (tc.n+tc.m-1)/tc.m, "node1.test"); len(bad) > 0 {
				t.Fatalf("%s\n%s", strings.Join(bad, "\n"), jr.stdout)
			}
		})
	}
}

var kubeJoinLineRE = regexp.MustCompile(`^ssh -p ([0-9]+) ([a-z][a-z0-9_-]*)@(\S+)$`)

func kubeCheckJoinLines(lines []string, m, base, pods int, host string) []string {
	var bad []string
	names := map[string]bool{}
	perPort := map[int]int{}
	for _, l := range lines {
		g := kubeJoinLineRE.FindStringSubmatch(l)
		if g == nil {
			bad = append(bad, fmt.Sprintf("%q is not `ssh -p PORT NAME@HOST`", l))
			continue
		}
		port, _ := strconv.Atoi(g[1])
		if port < base || port >= base+pods {
			bad = append(bad, fmt.Sprintf("%q: port %d is no pod's (%d..%d)", l, port, base, base+pods-1))
		}
		perPort[port]++
		if names[g[2]] {
			bad = append(bad, fmt.Sprintf("learner %s twice", g[2]))
		}
		names[g[2]] = true
		if g[3] != host {
			bad = append(bad, fmt.Sprintf("%q: host %s, want %s", l, g[3], host))
		}
	}
	for port, k := range perPort {
		if k > m {
			bad = append(bad, fmt.Sprintf("port %d has %d learners, more than --per-pod %d", port, k, m))
		}
	}
	return bad
}

// The checks must fail on a wrong manifest: each doctoring below breaks
// one thing the check promises to catch.
func TestClassKubeCheckCatchesWrongManifests(t *testing.T) {
	c := kubeClass{Name: "nslab-class", Learners: kubeDefaultNames(5), PerPod: 2, Image: "x", PortBase: 30022,
		Code: "c0de-c0de", Host: "h", Target: targetKubernetes}
	good, err := c.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if bad := checkKubeManifest(kubeDocs(t, string(good)), 5, 2, 30022, "c0de-c0de", false); len(bad) > 0 {
		t.Fatalf("the good manifest fails: %v", bad)
	}
	for _, tc := range []struct{ what, from, to string }{
		{"replicas", "replicas: 3", "replicas: 2"},
		{"a node port", "nodePort: 30023", "nodePort: 30022"},
		{"a pod selector", "pod-name: nslab-class-2", "pod-name: nslab-class-7"},
		{"the secret ref", "name: nslab-class-code\n", "name: other-code\n"},
		{"max learners", "- \"2\"", "- \"3\""},
		{"hostUsers", "\n      hostUsers: false\n", "\n      hostUsers: true\n"},
		{"the code", "code: c0de-c0de", "code: nope"},
	} {
		doctored := strings.Replace(string(good), tc.from, tc.to, 1)
		if doctored == string(good) {
			t.Fatalf("%s: %q is not in the manifest", tc.what, tc.from)
		}
		if bad := checkKubeManifest(kubeDocs(t, doctored), 5, 2, 30022, "c0de-c0de", false); len(bad) == 0 {
			t.Errorf("wrong %s passed the check", tc.what)
		}
	}
	lines := c.JoinLines()
	if bad := kubeCheckJoinLines(lines, 2, 30022, 3, "h"); len(bad) > 0 {
		t.Fatalf("good join lines fail: %v", bad)
	}
	for what, wrong := range map[string][]string{
		"three on a pod of two": append(slices.Clone(lines[:4]), strings.Replace(lines[4], "30024", "30022", 1)),
		"a port of no pod":      append(slices.Clone(lines[:4]), strings.Replace(lines[4], "30024", "30025", 1)),
		"a learner twice":       append(slices.Clone(lines[:4]), lines[3]),
		"another host":          append(slices.Clone(lines[:4]), strings.Replace(lines[4], "@h", "@g", 1)),
	} {
		if bad := kubeCheckJoinLines(wrong, 2, 30022, 3, "h"); len(bad) == 0 {
			t.Errorf("join lines with %s passed the check", what)
		}
	}
}

func TestClassKubePodman(t *testing.T) {
	r := nslab(t, invocation{args: []string{"class", "kube", "--learners", "3", "--per-pod", "2",
		"--target", "podman", "--port-base", "40022", "--code", "abcdef", "--image", "localhost/nslab:ci"}})
	if r.code != 0 {
		t.Fatal(r)
	}
	docs := kubeDocs(t, r.stdout)
	if len(docs) != 2 || len(kubeOfKind(docs, "Pod")) != 2 {
		t.Fatalf("want 2 Pods and nothing else for 3 learners at 2 a pod:\n%s", r.stdout)
	}
	for i, p := range docs {
		c := kubeDig(p, "spec", "containers", 0)
		if hp := kubeDigInt(c, "ports", 0, "hostPort"); hp != 40022+i {
			t.Errorf("pod %d: host port %d, want %d", i, hp, 40022+i)
		}
		if kubeDigStr(c, "env", 0, "value") != "abcdef" || kubeDig(c, "securityContext", "privileged") != true {
			t.Errorf("pod %d: env %v, securityContext %v", i, kubeDig(c, "env"), kubeDig(c, "securityContext"))
		}
		// podman 4.3 plays an emptyDir as one named volume shared by
		// every pod: the pods must not share their class state.
		if v := kubeDig(p, "spec", "volumes"); v != nil || kubeDig(c, "volumeMounts") != nil {
			t.Errorf("pod %d mounts volumes %v", i, v)
		}
		if kubeDigStr(p, "metadata", "name") != "nslab-class-"+strconv.Itoa(i) {
			t.Errorf("pod %d is named %s", i, kubeDigStr(p, "metadata", "name"))
		}
	}
}

func TestClassKubeNamesFileAndCode(t *testing.T) {
	dir := t.TempDir()
	names := filepath.Join(dir, "names")
	if err := os.WriteFile(names, []byte("# the class\nada\n\nlinus\nmargaret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := nslab(t, invocation{args: []string{"class", "kube", "--names-file", names, "--per-pod", "2", "--join-lines", "--host", "vm"}})
	if r.code != 0 {
		t.Fatal(r)
	}
	want := "ssh -p 30022 ada@vm\nssh -p 30022 linus@vm\nssh -p 30023 margaret@vm\n"
	if r.stdout != want {
		t.Errorf("join lines\n%s\nwant\n%s", r.stdout, want)
	}
	// A generated code: printed on stderr, in the Secret, and not the same twice.
	var codes []string
	for range 2 {
		r := nslab(t, invocation{args: []string{"class", "kube", "--learners", "1", "--per-pod", "1"}})
		if r.code != 0 {
			t.Fatal(r)
		}
		s := kubeOfKind(kubeDocs(t, r.stdout), "Secret")
		code := kubeDigStr(s[0], "stringData", "code")
		if !regexp.MustCompile(`^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$`).MatchString(code) || !strings.Contains(r.stderr, code) {
			t.Fatalf("generated code %q (stderr %q)", code, r.stderr)
		}
		codes = append(codes, code)
	}
	if codes[0] == codes[1] {
		t.Errorf("two runs generated the same code %s", codes[0])
	}
}

func TestClassKubeBadInput(t *testing.T) {
	dir := t.TempDir()
	dupNames := filepath.Join(dir, "dup")
	badNames := filepath.Join(dir, "bad")
	if err := os.WriteFile(dupNames, []byte("ada\nada\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(badNames, []byte("Ada Lovelace\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--per-pod", "2"}, "--learners N is required"},
		{[]string{"--learners", "2"}, "--per-pod M is required"},
		{[]string{"--learners", "0", "--per-pod", "2"}, "--learners must be at least 1"},
		{[]string{"--learners", "-3", "--per-pod", "2"}, "--learners must be at least 1"},
		{[]string{"--learners", "3", "--per-pod", "0"}, "--per-pod must be at least 1"},
		{[]string{"--learners", "9999", "--per-pod", "30"}, "split the class"},
		{[]string{"--learners", "3", "--per-pod", "x"}, "invalid argument"},
		{[]string{"--learners", "100", "--per-pod", "1", "--port-base", "32700"}, "outside Kubernetes' default NodePort range"},
		{[]string{"--learners", "3", "--per-pod", "1", "--port-base", "65535", "--target", "podman"}, "within 1..65535"},
		{[]string{"--learners", "3", "--per-pod", "1", "--target", "nomad"}, `--target "nomad"`},
		{[]string{"--learners", "3", "--per-pod", "1", "--name", "Class_A"}, "--name \"Class_A\""},
		{[]string{"--learners", "3", "--per-pod", "1", "--image", ""}, "--image \"\" is not an image"},
		{[]string{"--learners", "3", "--per-pod", "1", "--code", "abc"}, "at least 6 characters"},
		{[]string{"--learners", "3", "--per-pod", "1", "--code", ""}, "--code must be one line of at least 6 characters"},
		{[]string{"--names-file", dupNames, "--per-pod", "1"}, `"ada" is given twice`},
		{[]string{"--names-file", badNames, "--per-pod", "1"}, "not a valid SSH user name"},
		{[]string{"--names-file", dupNames, "--learners", "5", "--per-pod", "1"}, "names 2 learners"},
		{[]string{"--names-file", filepath.Join(dir, "none"), "--per-pod", "1"}, "no such file"},
		{[]string{"--learners", "3", "--per-pod", "1", "extra"}, "unknown command \"extra\""},
	} {
		r := nslab(t, invocation{args: append([]string{"class", "kube"}, tc.args...)})
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) || r.stdout != "" {
			t.Errorf("%v: want exit %d, no output and %q on stderr; got %s", tc.args, exitUsage, tc.want, r)
		}
	}
}

func TestClassKubeValidateIsErrKubeInput(t *testing.T) {
	c := kubeClass{Name: "n", PerPod: 1, Image: "i", PortBase: 30022, Code: "c0de-c0de", Target: targetKubernetes}
	if err := c.validate(); !errors.Is(err, ErrKubeInput) {
		t.Errorf("no learners: %v, want ErrKubeInput", err)
	}
	c.Learners = []string{"a"}
	if err := c.validate(); err != nil {
		t.Errorf("a valid class: %v", err)
	}
}
