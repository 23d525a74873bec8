package main

import (
	"bufio"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

// `nslab class kube` prints the manifest that runs a class bigger than one
// machine: a StatefulSet of `nslab serve` pods, one NodePort Service per
// pod and a Secret with the class code. It writes no scheduler of its own:
// each pod serves --per-pod learners, and each learner's join line names
// the node port of the pod they belong to.

// kubeTarget is what the manifest is for.
type kubeTarget string

const (
	// targetKubernetes: Secret + headless Service + StatefulSet + one
	// NodePort Service per pod (kubectl apply -f).
	targetKubernetes kubeTarget = "kubernetes"
	// targetPodman: one bare Pod per shard with a hostPort, for
	// `podman kube play` on one machine. Podman (4.3, Debian bookworm's)
	// skips StatefulSets and Services without a word, and its Secret
	// support stores the Secret as YAML but reads it back as JSON
	// ("secret ... is not valid JSON"), so secretKeyRef cannot work there.
	targetPodman kubeTarget = "podman"
)

// Where the pods listen and keep the class state, as `nslab serve` takes
// them (CLASSROOM.md's command line contract).
const (
	kubeServePort  = 2222
	kubeStateDir   = "/var/lib/nslab/class"
	kubeCodeEnv    = "NSLAB_CLASS_CODE"
	kubeCodeKey    = "code"
	kubePortMax    = 65535
	kubeNodePortLo = 30000 // Kubernetes' default --service-node-port-range
	kubeNodePortHi = 32767
	// kubeMaxLearners bounds --learners: a class is people, and every pod
	// gets a port, so a typo like 20000 should not print 20000 join lines.
	kubeMaxLearners = 5000
)

// ErrKubeInput: a flag of `nslab class kube` is out of range; the message
// says which and what to give instead.
var ErrKubeInput = errors.New("nslab class kube")

// kubeLearnerName is the SSH user name rule of `nslab serve`.
var kubeLearnerName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// kubeDNSLabel is an RFC 1035 label, what Kubernetes requires of Service names.
var kubeDNSLabel = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)

// kubeClass is one class's shape: who joins which pod on which port.
type kubeClass struct {
	Name       string // prefix of every object's name
	Learners   []string
	PerPod     int
	Image      string
	PortBase   int
	Code       string
	Host       string // for join lines
	Target     kubeTarget
	Privileged bool // kubernetes target: privileged instead of hostUsers: false
}

// Pods is how many pods serve the class: ceil(learners / per pod).
func (c kubeClass) Pods() int { return (len(c.Learners) + c.PerPod - 1) / c.PerPod }

// PodName is pod i's name (a StatefulSet's pods are NAME-ORDINAL).
func (c kubeClass) PodName(i int) string { return c.Name + "-" + strconv.Itoa(i) }

// Port is the node port (kubernetes) or host port (podman) of pod i.
func (c kubeClass) Port(i int) int { return c.PortBase + i }

// JoinLines: one `ssh -p PORT NAME@HOST` per learner; learner k joins pod
// k / per-pod, so each pod serves at most per-pod learners.
func (c kubeClass) JoinLines() []string {
	out := make([]string, len(c.Learners))
	for k, name := range c.Learners {
		out[k] = fmt.Sprintf("ssh -p %d %s@%s", c.Port(k/c.PerPod), name, c.Host)
	}
	return out
}

// validate checks everything a cluster would refuse later, or worse,
// accept: the messages say what to pass instead.
func (c kubeClass) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrKubeInput}, args...)...)
	}
	n := len(c.Learners)
	switch {
	case n < 1:
		return bad("--learners must be at least 1 (one per person in the class, or one name a line in --names-file), got %d", n)
	case n > kubeMaxLearners:
		return bad("--learners %d is more than %d; split the class into several manifests with different --name and --port-base", n, kubeMaxLearners)
	case c.PerPod < 1:
		return bad("--per-pod must be at least 1 (learners served by one pod; 30 to 60 suits a 2-core node), got %d", c.PerPod)
	case !kubeDNSLabel.MatchString(c.Name) || len(c.Name) > 63-1-len(strconv.Itoa(c.Pods())):
		return bad("--name %q must be lower-case letters, digits and '-', start with a letter and leave room for '-%d' within 63 characters", c.Name, c.Pods()-1)
	case strings.TrimSpace(c.Image) == "" || strings.ContainsAny(c.Image, " \t\n"):
		return bad("--image %q is not an image reference; build one from the Dockerfile (podman build -t nslab .) and pass its name", c.Image)
	case c.PortBase < 1 || c.Port(c.Pods()-1) > kubePortMax:
		return bad("--port-base %d: the %d pods need ports %d..%d, which must lie within 1..%d", c.PortBase, c.Pods(), c.PortBase, c.Port(c.Pods()-1), kubePortMax)
	case c.Target == targetKubernetes && (c.PortBase < kubeNodePortLo || c.Port(c.Pods()-1) > kubeNodePortHi):
		return bad("--port-base %d: the %d pods need node ports %d..%d, outside Kubernetes' default NodePort range %d-%d; pick a base in that range (or use --target podman for host ports)",
			c.PortBase, c.Pods(), c.PortBase, c.Port(c.Pods()-1), kubeNodePortLo, kubeNodePortHi)
	case len(c.Code) < 6 || strings.ContainsAny(c.Code, "\n\r"):
		return bad("--code must be one line of at least 6 characters (what nslab serve accepts)")
	case c.Target != targetKubernetes && c.Target != targetPodman:
		return bad("--target %q: use %q (kubectl apply) or %q (podman kube play)", c.Target, targetKubernetes, targetPodman)
	case c.Privileged && c.Target == targetPodman:
		return bad("--privileged is for --target kubernetes; the podman form is always privileged")
	}
	seen := make(map[string]int, n)
	for k, name := range c.Learners {
		if !kubeLearnerName.MatchString(name) {
			return bad("learner name %q (number %d) is not a valid SSH user name for nslab serve: lower-case letter first, then up to 31 of a-z 0-9 _ -", name, k+1)
		}
		if j, dup := seen[name]; dup {
			return bad("learner name %q is given twice (numbers %d and %d); every learner needs their own name", name, j+1, k+1)
		}
		seen[name] = k
	}
	return nil
}

// kubeDefaultNames: learner01..learnerNN, zero-padded so they sort.
func kubeDefaultNames(n int) []string {
	if n < 1 {
		return nil
	}
	width := max(2, len(strconv.Itoa(n)))
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("learner%0*d", width, i+1)
	}
	return out
}

// kubeReadNames reads one name a line; blank lines and # comments are
// skipped.
func kubeReadNames(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	return out, sc.Err()
}

// kubeClassCode is a code a person can type: three groups of four from an
// alphabet without look-alikes (no 0/o, 1/l/i).
func kubeClassCode() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand never fails on Linux
	var sb strings.Builder
	for i, x := range b {
		if i > 0 && i%4 == 0 {
			sb.WriteByte('-')
		}
		// 256 % 31 != 0 makes some letters a little likelier; a class
		// code only has to outlast the login rate limit for a workshop.
		sb.WriteByte(alphabet[int(x)%len(alphabet)])
	}
	return sb.String()
}

// The Kubernetes objects, only the fields this manifest sets. The json
// names are the API's (sigs.k8s.io/yaml marshals through encoding/json),
// and `podman kube play` in .ci/image-test parses them with the real
// k8s.io/api types; pulling those types in here would add some fifteen
// modules for a few dozen fields.
type (
	kubeMeta struct {
		Name        string            `json:"name,omitempty"`
		Labels      map[string]string `json:"labels,omitempty"`
		Annotations map[string]string `json:"annotations,omitempty"`
	}
	kubeObject struct {
		APIVersion string   `json:"apiVersion"`
		Kind       string   `json:"kind"`
		Metadata   kubeMeta `json:"metadata"`
		Type       string   `json:"type,omitempty"`       // Secret
		StringData any      `json:"stringData,omitempty"` // Secret
		Spec       any      `json:"spec,omitempty"`
	}
	kubeSelector struct {
		MatchLabels map[string]string `json:"matchLabels"`
	}
	kubeStatefulSetSpec struct {
		ServiceName          string          `json:"serviceName"`
		Replicas             int             `json:"replicas"`
		PodManagementPolicy  string          `json:"podManagementPolicy"`
		Selector             kubeSelector    `json:"selector"`
		Template             kubePodTemplate `json:"template"`
		VolumeClaimTemplates []kubeClaim     `json:"volumeClaimTemplates,omitempty"`
	}
	kubePodTemplate struct {
		Metadata kubeMeta    `json:"metadata"`
		Spec     kubePodSpec `json:"spec"`
	}
	kubeClaim struct {
		Metadata kubeMeta      `json:"metadata"`
		Spec     kubeClaimSpec `json:"spec"`
	}
	kubeClaimSpec struct {
		AccessModes []string         `json:"accessModes"`
		Resources   kubeResourceReqs `json:"resources"` // no storage class: the cluster's default
	}
	kubeResourceReqs struct {
		Requests map[string]string `json:"requests,omitempty"`
		Limits   map[string]string `json:"limits,omitempty"`
	}
	kubePodSpec struct {
		HostUsers                     *bool           `json:"hostUsers,omitempty"`
		AutomountServiceAccountToken  bool            `json:"automountServiceAccountToken"`
		EnableServiceLinks            bool            `json:"enableServiceLinks"`
		TerminationGracePeriodSeconds int             `json:"terminationGracePeriodSeconds"`
		RestartPolicy                 string          `json:"restartPolicy,omitempty"`
		Containers                    []kubeContainer `json:"containers"`
	}
	kubeContainer struct {
		Name            string              `json:"name"`
		Image           string              `json:"image"`
		ImagePullPolicy string              `json:"imagePullPolicy"`
		Args            []string            `json:"args"`
		Env             []kubeEnv           `json:"env"`
		Ports           []kubeContainerPort `json:"ports"`
		SecurityContext kubeSecurityContext `json:"securityContext"`
		Resources       kubeResourceReqs    `json:"resources"`
		VolumeMounts    []kubeVolumeMount   `json:"volumeMounts,omitempty"`
		ReadinessProbe  *kubeProbe          `json:"readinessProbe,omitempty"`
	}
	kubeEnv struct {
		Name      string         `json:"name"`
		Value     string         `json:"value,omitempty"`
		ValueFrom *kubeEnvSource `json:"valueFrom,omitempty"`
	}
	kubeEnvSource struct {
		SecretKeyRef kubeKeyRef `json:"secretKeyRef"`
	}
	kubeKeyRef struct {
		Name string `json:"name"`
		Key  string `json:"key"`
	}
	kubeContainerPort struct {
		Name          string `json:"name"`
		ContainerPort int    `json:"containerPort"`
		HostPort      int    `json:"hostPort,omitempty"`
		Protocol      string `json:"protocol"`
	}
	kubeSecurityContext struct {
		Privileged     *bool             `json:"privileged,omitempty"`
		Capabilities   *kubeCapabilities `json:"capabilities,omitempty"`
		SeccompProfile *kubeProfile      `json:"seccompProfile,omitempty"`
		AppArmor       *kubeProfile      `json:"appArmorProfile,omitempty"`
		ProcMount      string            `json:"procMount,omitempty"`
	}
	kubeCapabilities struct {
		Add []string `json:"add"`
	}
	kubeProfile struct {
		Type string `json:"type"`
	}
	kubeVolumeMount struct {
		Name      string `json:"name"`
		MountPath string `json:"mountPath"`
	}
	kubeProbe struct {
		TCPSocket           kubeTCPSocket `json:"tcpSocket"`
		PeriodSeconds       int           `json:"periodSeconds"`
		InitialDelaySeconds int           `json:"initialDelaySeconds"`
	}
	kubeTCPSocket struct {
		Port string `json:"port"`
	}
	kubeServiceSpec struct {
		Type      string            `json:"type,omitempty"`
		ClusterIP string            `json:"clusterIP,omitempty"`
		Selector  map[string]string `json:"selector"`
		Ports     []kubeServicePort `json:"ports"`
	}
	kubeServicePort struct {
		Name       string `json:"name"`
		Port       int    `json:"port"`
		TargetPort string `json:"targetPort"`
		NodePort   int    `json:"nodePort,omitempty"`
		Protocol   string `json:"protocol"`
	}
)

// kubeDoc is one YAML document and the comment printed above it.
type kubeDoc struct {
	comment string
	obj     kubeObject
}

func (c kubeClass) labels() map[string]string {
	return map[string]string{
		"app.kubernetes.io/name":      "nslab",
		"app.kubernetes.io/instance":  c.Name,
		"app.kubernetes.io/component": "class",
	}
}

func (c kubeClass) secretName() string { return c.Name + "-code" }

// Resources per pod: about twice what BenchmarkClassLoad measured for a
// typing learner (11 millicores, 12 MiB of PSS with their agent and
// shell; README, "A class on one machine"); the memory limit is what a
// pod may not pass.
func (c kubeClass) resources() kubeResourceReqs {
	return kubeResourceReqs{
		Requests: map[string]string{
			"cpu":    fmt.Sprintf("%dm", 100+25*c.PerPod),
			"memory": fmt.Sprintf("%dMi", 128+32*c.PerPod),
		},
		Limits: map[string]string{
			"memory": fmt.Sprintf("%dMi", 256+64*c.PerPod),
		},
	}
}

const kubePrivilegedWhy = `nslab serve creates namespaces (clone/unshare/setns), veth pairs, mounts
and a cgroup per learner: that needs CAP_SYS_ADMIN and CAP_NET_ADMIN, no
seccomp filter on those calls, and a writable cgroup tree. privileged is the
one form every runtime accepts. Each learner's sandboxes still live in a
user namespace mapped to that learner's own unprivileged id range.`

const kubeHostUsersWhy = `hostUsers: false (Kubernetes 1.33+, or 1.30+ with the UserNamespacesSupport
feature gate, on a runtime and kernel that support it): the pod runs in its own user namespace, so root and the capabilities added
below count only inside the pod, never on the node. nslab needs them to
create namespaces, veths and mounts (CAP_SYS_ADMIN, CAP_NET_ADMIN), seccomp
unconfined for clone/unshare/setns/mount, and an unmasked /proc so that a
sandbox may mount its own proc (procMount: Unmasked needs the ProcMountType
feature; without it the kernel refuses that mount with EPERM). Per-learner cgroup limits need a writable
cgroup tree, which runtimes give user-namespaced pods only on cgroup v2;
where they do not (nslab doctor in the pod says so), or where the cluster
refuses hostUsers: false, regenerate with --privileged.`

func kubeBool(b bool) *bool { return &b }

// container is the `nslab serve` container both targets run.
func (c kubeClass) container(hostPort int, code kubeEnv) kubeContainer {
	sc := kubeSecurityContext{Privileged: kubeBool(true)}
	if c.Target == targetKubernetes && !c.Privileged {
		sc = kubeSecurityContext{
			Capabilities:   &kubeCapabilities{Add: []string{"SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE"}},
			SeccompProfile: &kubeProfile{Type: "Unconfined"},
			AppArmor:       &kubeProfile{Type: "Unconfined"},
			ProcMount:      "Unmasked",
		}
	}
	return kubeContainer{
		Name:            "nslab",
		Image:           c.Image,
		ImagePullPolicy: "IfNotPresent",
		Args: []string{"serve",
			"--listen", ":" + strconv.Itoa(kubeServePort),
			"--state-dir", kubeStateDir,
			"--max-learners", strconv.Itoa(c.PerPod)},
		Env: []kubeEnv{code},
		Ports: []kubeContainerPort{{
			Name: "ssh", ContainerPort: kubeServePort, HostPort: hostPort, Protocol: "TCP",
		}},
		SecurityContext: sc,
		Resources:       c.resources(),
		VolumeMounts:    []kubeVolumeMount{{Name: "state", MountPath: kubeStateDir}},
		ReadinessProbe: &kubeProbe{
			TCPSocket: kubeTCPSocket{Port: "ssh"}, PeriodSeconds: 5, InitialDelaySeconds: 1,
		},
	}
}

// podSpec: nslab serve tells every learner and closes every sandbox on
// SIGTERM, so the grace period is what that takes, with room.
func (c kubeClass) podSpec(hostPort int, code kubeEnv) kubePodSpec {
	spec := kubePodSpec{
		AutomountServiceAccountToken:  false, // nslab never talks to the API server
		EnableServiceLinks:            false, // no env of every Service in the namespace
		TerminationGracePeriodSeconds: 30,
		Containers:                    []kubeContainer{c.container(hostPort, code)},
	}
	if c.Target == targetKubernetes && !c.Privileged {
		spec.HostUsers = kubeBool(false)
	}
	return spec
}

func (c kubeClass) docs() []kubeDoc {
	if c.Target == targetPodman {
		return c.podmanDocs()
	}
	l := c.labels()
	secret := kubeDoc{
		comment: "The class code learners type at the SSH prompt. Change it with\n  kubectl create secret generic " + c.secretName() + " --from-literal=code=NEW --dry-run=client -o yaml | kubectl apply -f -\nthen restart the pods (kubectl rollout restart statefulset/" + c.Name + ").",
		obj: kubeObject{
			APIVersion: "v1", Kind: "Secret",
			Metadata:   kubeMeta{Name: c.secretName(), Labels: l},
			Type:       "Opaque",
			StringData: map[string]string{kubeCodeKey: c.Code},
		},
	}
	headless := kubeDoc{
		comment: "The StatefulSet's governing Service (headless: it gives each pod a stable DNS name).",
		obj: kubeObject{
			APIVersion: "v1", Kind: "Service",
			Metadata: kubeMeta{Name: c.Name, Labels: l},
			Spec: kubeServiceSpec{ClusterIP: "None", Selector: l, Ports: []kubeServicePort{{
				Name: "ssh", Port: kubeServePort, TargetPort: "ssh", Protocol: "TCP",
			}}},
		},
	}
	code := kubeEnv{Name: kubeCodeEnv, ValueFrom: &kubeEnvSource{
		SecretKeyRef: kubeKeyRef{Name: c.secretName(), Key: kubeCodeKey},
	}}
	why := kubeHostUsersWhy
	if c.Privileged {
		why = kubePrivilegedWhy
	}
	sts := kubeDoc{
		comment: fmt.Sprintf("%d pods of nslab serve, %d learners each at most (%d learners in all).\n", c.Pods(), c.PerPod, len(c.Learners)) +
			"Each keeps its class state (progress, host key, id ranges) on its own volume,\nso a restarted pod gives learners their progress back and keeps its host key.\n\n" + why,
		obj: kubeObject{
			APIVersion: "apps/v1", Kind: "StatefulSet",
			Metadata: kubeMeta{Name: c.Name, Labels: l},
			Spec: kubeStatefulSetSpec{
				ServiceName:         c.Name,
				Replicas:            c.Pods(),
				PodManagementPolicy: "Parallel", // the pods do not depend on each other
				Selector:            kubeSelector{MatchLabels: l},
				Template:            kubePodTemplate{Metadata: kubeMeta{Labels: l}, Spec: c.podSpec(0, code)},
				VolumeClaimTemplates: []kubeClaim{{
					Metadata: kubeMeta{Name: "state", Labels: l},
					Spec: kubeClaimSpec{
						AccessModes: []string{"ReadWriteOnce"},
						Resources:   kubeResourceReqs{Requests: map[string]string{"storage": "1Gi"}},
					},
				}},
			},
		},
	}
	out := []kubeDoc{secret, headless, sts}
	for i := range c.Pods() {
		sel := map[string]string{"statefulset.kubernetes.io/pod-name": c.PodName(i)}
		out = append(out, kubeDoc{
			comment: fmt.Sprintf("Pod %s on node port %d: `nslab class kube ... --join-lines` says who joins it.", c.PodName(i), c.Port(i)),
			obj: kubeObject{
				APIVersion: "v1", Kind: "Service",
				Metadata: kubeMeta{Name: c.PodName(i), Labels: l},
				Spec: kubeServiceSpec{Type: "NodePort", Selector: sel, Ports: []kubeServicePort{{
					Name: "ssh", Port: kubeServePort, TargetPort: "ssh", NodePort: c.Port(i), Protocol: "TCP",
				}}},
			},
		})
	}
	return out
}

// podmanDocs: the same container as bare Pods, one per shard, each with
// its own host port; the class state lives as long as the pod.
func (c kubeClass) podmanDocs() []kubeDoc {
	code := kubeEnv{Name: kubeCodeEnv, Value: c.Code}
	var out []kubeDoc
	for i := range c.Pods() {
		l := c.labels()
		l["nslab.github.io/shard"] = strconv.Itoa(i)
		spec := c.podSpec(c.Port(i), code)
		spec.RestartPolicy = "Never" // a test pod that fails should stay failed, not loop
		// No volume: podman 4.3 plays an emptyDir as one named volume
		// that every pod shares (and one host key, one set of id ranges).
		// The container's own file system lives as long as the pod.
		spec.Containers[0].VolumeMounts = nil
		comment := fmt.Sprintf("Pod %d of %d for podman kube play: host port %d, %d learners at most.", i+1, c.Pods(), c.Port(i), c.PerPod)
		if i == 0 {
			comment += "\nThe class code is in the pod's env: podman 4.3 cannot read a Secret back\n(secretKeyRef fails with \"not valid JSON\"); --target kubernetes uses a Secret.\n\n" + kubePrivilegedWhy
		}
		out = append(out, kubeDoc{comment: comment, obj: kubeObject{
			APIVersion: "v1", Kind: "Pod",
			Metadata: kubeMeta{Name: c.PodName(i), Labels: l},
			Spec:     spec,
		}})
	}
	return out
}

// Manifest is the YAML stream: documents separated by ---, each with its
// comment above it.
func (c kubeClass) Manifest() ([]byte, error) {
	var sb strings.Builder
	fmt.Fprintf(&sb, "# nslab class: %d learners, %d per pod, %d pods (target %s).\n", len(c.Learners), c.PerPod, c.Pods(), c.Target)
	if c.Target == targetKubernetes {
		sb.WriteString("# Apply: kubectl apply -f FILE. Join lines: the same command with --join-lines --host NODE.\n")
	} else {
		sb.WriteString("# Play: podman kube play FILE; end: podman kube down FILE.\n")
	}
	for _, d := range c.docs() {
		b, err := yaml.Marshal(d.obj)
		if err != nil {
			return nil, fmt.Errorf("marshal %s %s: %w", d.obj.Kind, d.obj.Metadata.Name, err)
		}
		sb.WriteString("---\n")
		for line := range strings.SplitSeq(d.comment, "\n") {
			sb.WriteString(strings.TrimRight("# "+line, " ") + "\n")
		}
		sb.Write(b)
	}
	return []byte(sb.String()), nil
}

func (a *app) classKubeCmd() *cobra.Command {
	var (
		c         kubeClass
		n         int
		namesFile string
		target    string
		joinLines bool
	)
	cmd := &cobra.Command{
		Use:   "kube --learners N --per-pod M",
		Short: "Print a Kubernetes manifest that serves a class bigger than one machine",
		Long: `Print a manifest that runs a class on Kubernetes: a StatefulSet of
nslab serve pods (--per-pod learners each), one NodePort Service per pod
and a Secret with the class code. With --join-lines it prints instead one
"ssh -p PORT NAME@HOST" line per learner: each learner joins their own pod.

Run it twice with the same flags: once for the manifest, once with
--join-lines for the board. Without --code the code is generated and
printed on stderr; tell it to the learners.`,
		Example: `  nslab class kube --learners 120 --per-pod 40 --image registry.example/nslab:1 --code tulip-7 > class.yaml
  nslab class kube --learners 120 --per-pod 40 --code tulip-7 --join-lines --host node1.example
  nslab class kube --learners 2 --per-pod 1 --target podman --image localhost/nslab > pods.yaml`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c.Target = kubeTarget(target)
			switch {
			case namesFile != "":
				f, err := os.Open(namesFile)
				if err != nil {
					return usageErrorf("--names-file: %w", err)
				}
				c.Learners, err = kubeReadNames(f)
				f.Close()
				if err != nil {
					return usageErrorf("--names-file %s: %w", namesFile, err)
				}
				if cmd.Flags().Changed("learners") && n != len(c.Learners) {
					return usageErrorf("%w: --learners %d but %s names %d learners; give one of the two", ErrKubeInput, n, namesFile, len(c.Learners))
				}
			case !cmd.Flags().Changed("learners"):
				return usageErrorf("%w: --learners N is required (the number of people in the class)", ErrKubeInput)
			default:
				if n < 1 {
					return usageErrorf("%w: --learners must be at least 1 (one per person in the class), got %d", ErrKubeInput, n)
				}
				if n > kubeMaxLearners {
					return usageErrorf("%w: --learners %d is more than %d; split the class into several manifests with different --name and --port-base", ErrKubeInput, n, kubeMaxLearners)
				}
				c.Learners = kubeDefaultNames(n)
			}
			if !cmd.Flags().Changed("per-pod") {
				return usageErrorf("%w: --per-pod M is required (learners served by one pod; 30 to 60 suits a 2-core node)", ErrKubeInput)
			}
			if !cmd.Flags().Changed("code") {
				c.Code = kubeClassCode() // join lines do not name it
			}
			if err := c.validate(); err != nil {
				return withCode(exitUsage, err)
			}
			out := cmd.OutOrStdout()
			if joinLines {
				if !cmd.Flags().Changed("host") {
					a.warn("no --host: the join lines name HOST; replace it with a node's address")
				}
				_, err := fmt.Fprintln(out, strings.Join(c.JoinLines(), "\n"))
				return err
			}
			m, err := c.Manifest()
			if err != nil {
				return withCode(exitInternal, err)
			}
			if _, err := out.Write(m); err != nil {
				return err
			}
			if !cmd.Flags().Changed("code") {
				a.warn("class code %s: tell it to the learners (pass --code to choose it)", c.Code)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&n, "learners", 0, "how many learners the class has (required unless --names-file)")
	f.IntVar(&c.PerPod, "per-pod", 0, "learners served by one pod: its nslab serve --max-learners (required)")
	f.StringVar(&c.Image, "image", "nslab:latest", "the nslab image, built from the Dockerfile and pushed where the cluster pulls from")
	f.IntVar(&c.PortBase, "port-base", 30022, "node port of the first pod; pod i listens on port-base+i")
	f.StringVar(&c.Code, "code", "", "the class code (default: generated and printed on stderr)")
	f.StringVar(&c.Name, "name", "nslab-class", "name of the StatefulSet; prefix of every object")
	f.StringVar(&c.Host, "host", "HOST", "with --join-lines: the address learners reach a node at")
	f.StringVar(&namesFile, "names-file", "", "learner names, one a line (default learner01, learner02, ...)")
	f.StringVar(&target, "target", string(targetKubernetes), "kubernetes (StatefulSet, Services, Secret) or podman (Pods with host ports, for podman kube play)")
	f.BoolVar(&c.Privileged, "privileged", false, "run the pods privileged instead of in their own user namespace (hostUsers: false)")
	f.BoolVar(&joinLines, "join-lines", false, `print one "ssh -p PORT NAME@HOST" line per learner instead of the manifest`)
	return cmd
}
