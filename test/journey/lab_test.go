//go:build journey

package journey

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/modelrollouts/modelrollouts/infra"
	"github.com/modelrollouts/modelrollouts/internal/kubeclient"
	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
	"github.com/modelrollouts/modelrollouts/stacks"
	"github.com/modelrollouts/modelrollouts/test/integration/harness"
	"github.com/modelrollouts/modelrollouts/test/journey/lab/ingress"
	"github.com/modelrollouts/modelrollouts/test/journey/lab/knative"
	"github.com/modelrollouts/modelrollouts/test/journey/lab/node"
)

// The image the journeys' stacks name; the node stand-in runs model-echo
// for any image whose repository ends in /model-echo (model-agent when the
// container's command is the agent's).
const modelImage = "kind.local/model-echo:journey"

// irisImage is the repository of Pulumi.byo.yaml's own images, built from
// examples/sklearn-iris/Dockerfile with MODEL_VERSION as the tag.
const irisImage = "dev.local/sklearn-iris"

// irisServer is examples/sklearn-iris/Dockerfile's CMD, on the pod's
// address and the port its spec gives it (HOST and PORT, where the image
// binds 0.0.0.0:8081 in a network namespace of its own).
const irisServer = `exec /usr/bin/python3 -m uvicorn server:app --host "$HOST" --port "$PORT"`

// standIn is the process a container's image and command stand for: the
// model-echo image runs model-echo, or model-agent with the agent's
// command; an sklearn-iris image runs Debian's Python on the example's
// server.py with the model train.py saved for its tag, as the image does.
func standIn(c corev1.Container) (node.Process, error) {
	repo, tag := imageRepoTag(c.Image)
	switch {
	case strings.HasSuffix(repo, "/"+stacks.ModelEchoRepository) && slices.Equal(c.Command, modelapi.AgentCommand):
		return node.Process{Path: tier.modelAgent, Args: c.Args}, nil
	case strings.HasSuffix(repo, "/"+stacks.ModelEchoRepository) && len(c.Command) == 0:
		return node.Entrypoint(tier.modelEcho, c), nil
	case repo == irisImage && len(c.Command) == 0 && len(c.Args) == 0:
		if tier.irisModels == "" {
			return node.Process{}, fmt.Errorf("image %s: no sklearn-iris models trained (only the byo journey trains them)", c.Image)
		}
		model := filepath.Join(tier.irisModels, tag, "model.joblib")
		if _, err := os.Stat(model); err != nil {
			return node.Process{}, fmt.Errorf("image %s: train.py saved no model %s: %w", c.Image, tag, err)
		}
		return node.Process{Path: "/bin/sh", Args: []string{"-c", irisServer},
			Env: []string{"MODEL_NAME=iris", "MODEL_PATH=" + model},
			Dir: filepath.Join(tier.checkout, "examples", "sklearn-iris")}, nil
	}
	return node.Process{}, fmt.Errorf("image %s with command %q: the journey node runs model-echo (and its model-agent) and %s images only", c.Image, c.Command, irisImage)
}

// imageRepoTag splits an image reference into its repository and tag
// (a digest dropped).
func imageRepoTag(image string) (repo, tag string) {
	repo, _, _ = strings.Cut(image, "@")
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		return repo[:i], repo[i+1:]
	}
	return repo, ""
}

// idleToZero is how long a scale-to-zero revision keeps its pod after its
// last request (Knative: 60 s stable window + 30 s grace), so a journey
// sees cold starts within its budget.
const idleToZero = 4 * time.Second

// lab is one stack's cluster: a kwok kube-apiserver with the Istio and
// Knative CRDs, the node, Knative and ingress stand-ins, the ingress on
// the host port the stack's outputs name.
type lab struct {
	t       *testing.T
	stack   string
	cluster *harness.Cluster
	kube    kubernetes.Interface
	dyn     dynamic.Interface
	node    *node.Kubelet
	knative *knative.Reconciler
	gateway *ingress.Gateway
	server  *http.Server
	url     string // the ingress, http://127.0.0.1:PORT
	log     *os.File
}

// labsStarted gives each lab its own block of pod IPs: journeys marked
// parallel run their labs side by side.
var labsStarted atomic.Int64

// startLab starts the cluster of stack, with the ingress on hostPort.
func startLab(t *testing.T, stack string, hostPort int) *lab {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(tier.work, "labs", stack)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fatalf(t, "%v", err)
	}
	logFile, err := os.Create(filepath.Join(dir, "lab.log"))
	if err != nil {
		fatalf(t, "%v", err)
	}
	l := &lab{t: t, stack: stack, log: logFile, url: "http://127.0.0.1:" + strconv.Itoa(hostPort)}
	// Every line stamped with the time, so the stand-ins' events line up
	// with the commands' (a scale to zero during a check, say).
	logw := &stampedLog{w: logFile}
	t.Cleanup(l.stop)
	l.cluster, err = harness.StartClusterWith(ctx, filepath.Join(dir, "cluster"), harness.ClusterOptions{Name: "journey-" + stack, Nodes: 1, Log: logw})
	if err != nil {
		fatalf(t, "%v", err)
	}
	// kwok's fake node runs nothing: keep the model's pods off it.
	if _, err := l.cluster.RunKubectl(ctx, "taint", "nodes", "kwok-node-0", "journey.modelrollouts/kwok=fake:NoSchedule"); err != nil {
		fatalf(t, "%v", err)
	}
	if err := l.applyCRDs(ctx); err != nil {
		fatalf(t, "%v", err)
	}
	kubeconfig, err := os.ReadFile(l.cluster.Kubeconfig)
	if err != nil {
		fatalf(t, "%v", err)
	}
	src := kubeclient.Source{Kubeconfig: string(kubeconfig)}
	if l.kube, err = kubeclient.New(src); err != nil {
		fatalf(t, "%v", err)
	}
	rc, err := src.RESTConfig()
	if err != nil {
		fatalf(t, "%v", err)
	}
	rc.QPS, rc.Burst = 200, 400
	if l.dyn, err = dynamic.NewForConfig(rc); err != nil {
		fatalf(t, "%v", err)
	}
	if l.kube, err = kubernetes.NewForConfig(rc); err != nil {
		fatalf(t, "%v", err)
	}
	l.node, err = node.Start(ctx, node.Options{Client: l.kube, NodeName: "journey-node", Dir: filepath.Join(dir, "pods"), Log: logw,
		Binary: standIn, AddressBlock: int(labsStarted.Add(1)-1) % node.AddressBlocks})
	if err != nil {
		fatalf(t, "%v", err)
	}
	l.knative = knative.Start(ctx, knative.Options{Client: l.kube, Dynamic: l.dyn, IdleToZero: idleToZero, Log: logw})
	l.gateway, err = ingress.Start(ctx, ingress.Options{Client: l.kube, Dynamic: l.dyn, Activator: l.knative, Seed: seedOf(t.Name()), Log: logw})
	if err != nil {
		fatalf(t, "%v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(hostPort))
	if err != nil {
		fatalf(t, "the ingress on the stack's host port: %v", err)
	}
	l.server = &http.Server{Handler: l.gateway, ReadHeaderTimeout: 10 * time.Second}
	go l.server.Serve(ln)
	return l
}

func (l *lab) stop() {
	if l.server != nil {
		l.server.Close()
	}
	if l.gateway != nil {
		l.gateway.Stop()
	}
	if l.knative != nil {
		l.knative.Stop()
	}
	if l.node != nil {
		l.node.Stop()
	}
	if l.cluster != nil {
		l.cluster.Stop()
	}
	if l.t.Failed() {
		// Last, so CI's tail of the output shows it: the stand-ins' latest
		// events (pods started and stopped, revisions scaled, routes
		// written), then what the journey failed on.
		l.t.Logf("the lab's log (stand-ins, kwok): %s, its last lines:\n%s\nthis journey failed on:\n%s", l.log.Name(), lastLines(l.log.Name(), 40), failedOn(l.t))
	}
	l.log.Close()
}

// applyCRDs installs the Istio and Knative CRDs, as a cluster with both
// installed has them.
func (l *lab) applyCRDs(ctx context.Context) error {
	files := []string{filepath.Join(tier.tools.IstioChartsDir, "base", "files", "crd-all.gen.yaml")}
	knativeCRDs, _ := filepath.Glob(filepath.Join(tier.tools.KnativeServingDir, "config", "core", "300-resources", "*.yaml"))
	for _, f := range append(files, knativeCRDs...) {
		if _, err := l.cluster.RunKubectl(ctx, "apply", "--server-side", "-f", f); err != nil {
			return err
		}
	}
	_, err := l.cluster.RunKubectl(ctx, "wait", "--for=condition=Established", "--timeout=60s",
		"crd/routes.serving.knative.dev", "crd/configurations.serving.knative.dev", "crd/revisions.serving.knative.dev",
		"crd/virtualservices.networking.istio.io", "crd/gateways.networking.istio.io", "crd/destinationrules.networking.istio.io")
	return err
}

// standInPlatform writes what the stack's KnativeServing component writes
// into Knative's config maps (its domain, scale to zero, tag header
// routing): the platform install is stood in, its settings are the stack's.
func (l *lab) standInPlatform(cfg *stacks.Config) {
	l.t.Helper()
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: knative.SystemNamespace}}
	if _, err := l.kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		fatalf(l.t, "%v", err)
	}
	kn := cfg.Platform.Knative
	header := "Disabled"
	if cfg.Canary != nil && cfg.Canary.HeaderRouting {
		header = "Enabled"
	}
	for name, data := range map[string]map[string]string{
		"config-domain":     {kn.Domain: ""},
		"config-autoscaler": {"enable-scale-to-zero": strconv.FormatBool(*kn.ScaleToZero)},
		"config-features":   {"tag-header-based-routing": header},
	} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: knative.SystemNamespace}, Data: data}
		if _, err := l.kube.CoreV1().ConfigMaps(knative.SystemNamespace).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			fatalf(l.t, "%v", err)
		}
	}
}

// pointStackAtLab is what a user with this cluster would set: the stack
// file's cluster becomes this existing cluster with the ingress on its
// host port, the platform install is off (its controllers are stood in),
// and the image is the one the node stand-in runs. `pulumi config set
// --path`, as typed, on the stack `make stack` created.
func (l *lab) pointStackAtLab(ingressURL string) {
	l.t.Helper()
	s := l.stack
	cfg := l.makeStack()
	set := l.configSet
	// The other cluster type's keys would be refused at their key.
	for _, key := range clusterKeys(l.t, s) {
		if key != "type" {
			expect(l.t, 0, fmt.Sprintf("source hack/lib/pulumi-env.sh && pulumi config rm --stack %s --path cluster.%s", s, key))
		}
	}
	set("cluster.type", "existing")
	set("cluster.kubeconfig", l.cluster.Kubeconfig)
	if ingressURL != "" {
		set("cluster.ingressUrl", ingressURL)
	}
	set("platform.istio.install", "false")
	set("platform.knative.install", "false")
	set("image.ref", modelImage)
	if cfg.Cluster.Type == stacks.ClusterKind {
		set("image.build", "false")
	}
	l.standInPlatformOfStackFile()
}

// makeStack is `make stack` on the committed stack file, whose salt is
// dropped first: it is keyed with the lab's passphrase, and a stack for
// one's own cluster gets a salt from one's own (docs/github.md). It
// returns the stack's config as committed.
func (l *lab) makeStack() *stacks.Config {
	l.t.Helper()
	file := filepath.Join(tier.checkout, "Pulumi."+l.stack+".yaml")
	dropEncryptionSalt(l.t, file)
	expect(l.t, 0, "make stack STACK="+l.stack)
	cfg, err := stacks.LoadFile(file)
	if err != nil {
		fatalf(l.t, "%v", err)
	}
	return cfg
}

// configSet is `pulumi config set --path KEY VALUE` on the lab's stack, as typed.
func (l *lab) configSet(key, value string) {
	l.t.Helper()
	expect(l.t, 0, fmt.Sprintf("source hack/lib/pulumi-env.sh && pulumi config set --stack %s --path %s %s", l.stack, key, shellQuote(value)))
}

// standInPlatformOfStackFile stands in the platform the stack file, as
// pointed at the lab, asks for.
func (l *lab) standInPlatformOfStackFile() {
	l.t.Helper()
	cfg, err := stacks.LoadFile(filepath.Join(tier.checkout, "Pulumi."+l.stack+".yaml"))
	if err != nil {
		fatalf(l.t, "the stack file after pointing it at the lab: %v", err)
	}
	l.standInPlatform(cfg)
}

// dropEncryptionSalt removes the encryptionsalt line of a stack file.
func dropEncryptionSalt(t *testing.T, file string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		fatalf(t, "%v", err)
	}
	var kept []string
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if !strings.HasPrefix(line, "encryptionsalt:") {
			kept = append(kept, line)
		}
	}
	if err := os.WriteFile(file, []byte(strings.Join(kept, "")), 0o644); err != nil {
		fatalf(t, "%v", err)
	}
}

// clusterKeys are the keys of the stack file's cluster block.
func clusterKeys(t *testing.T, stack string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(tier.checkout, "Pulumi."+stack+".yaml"))
	if err != nil {
		fatalf(t, "%v", err)
	}
	values, err := stacks.ParseStackFile(data)
	if err != nil {
		fatalf(t, "%v", err)
	}
	var cluster map[string]any
	if err := json.Unmarshal([]byte(values["cluster"]), &cluster); err != nil {
		fatalf(t, "the cluster block of Pulumi.%s.yaml: %v", stack, err)
	}
	var keys []string
	for k := range cluster {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// stack is the user's stack in make up's backend, run inline.
func (l *lab) stackHandle(ctx context.Context) auto.Stack {
	l.t.Helper()
	env := deployEnv()
	cmd, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: tier.tools.PulumiRoot})
	if err != nil {
		fatalf(l.t, "%v", err)
	}
	st, err := auto.UpsertStackInlineSource(ctx, l.stack, "modelrollouts", infra.ProgramIn(tier.checkout),
		auto.WorkDir(tier.checkout), auto.EnvVars(env), auto.PulumiHome(env["PULUMI_HOME"]), auto.Pulumi(cmd))
	if err != nil {
		fatalf(l.t, "stack %s: %v", l.stack, err)
	}
	return st
}

// up is `make up STACK=stack`: the same program, make up's backend and
// passphrase, through the Automation API (the CLI here has no Go language
// host), and says so.
func (l *lab) up(line string) *stacks.Outputs {
	l.t.Helper()
	ctx := context.Background()
	l.t.Logf("$ %s\n(the Pulumi CLI here has no Go language host, so the journey runs the same program, infra.Program, "+
		"through the Automation API on stack %s with make up's backend %s and passphrase)", line, l.stack, tier.pulumiEnv["PULUMI_BACKEND_URL"])
	start := time.Now()
	st := l.stackHandle(ctx)
	res, err := st.Up(ctx, optup.SuppressProgress())
	if err != nil {
		fatalf(l.t, "%s: %v\n%s\n%s", line, err, res.StdOut, res.StdErr)
	}
	raw := map[string]any{}
	for k, v := range res.Outputs {
		raw[k] = v.Value
	}
	b, _ := json.Marshal(raw)
	var out stacks.Outputs
	if err := json.Unmarshal(b, &out); err != nil {
		fatalf(l.t, "outputs %s: %v", b, err)
	}
	l.t.Logf("(up: %v in %.1fs)", *res.Summary.ResourceChanges, time.Since(start).Seconds())
	return &out
}

// down is `make down STACK=stack`: pulumi destroy, through the
// Automation API like up.
func (l *lab) down(line string) {
	l.t.Helper()
	ctx := context.Background()
	l.t.Logf("$ %s\n(through the Automation API, as make up)", line)
	st := l.stackHandle(ctx)
	start := time.Now()
	res, err := st.Destroy(ctx, optdestroy.SuppressProgress())
	if err != nil {
		fatalf(l.t, "%s: %v", line, err)
	}
	l.t.Logf("(down in %.1fs)\n%s", time.Since(start).Seconds(), res.StdOut)
}

// run runs a README line: make up/down through the Automation API, gh
// skipped (no GitHub here), anything else as typed.
func (l *lab) run(code int, line string) result {
	l.t.Helper()
	switch {
	case line == "make up" || strings.HasPrefix(line, "make up ") && !strings.Contains(line, "&&"):
		l.up(line)
		return result{line: line}
	case line == "make down" || strings.HasPrefix(line, "make down "):
		l.down(line)
		return result{line: line}
	case strings.HasPrefix(line, "gh "):
		l.t.Logf("$ %s\n(skipped: the PR needs GitHub; the journey applies the change as if merged)", line)
		return result{line: line}
	}
	return expect(l.t, code, line)
}

// waitPods waits until the pods matching selector in ns number n, all
// Ready (n = 0: none left).
func (l *lab) waitPods(ns, selector string, n int, within time.Duration) []corev1.Pod {
	l.t.Helper()
	deadline := time.Now().Add(within)
	for {
		list, err := l.kube.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
		if err == nil {
			ready := 0
			for _, p := range list.Items {
				for _, c := range p.Status.Conditions {
					if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue && p.DeletionTimestamp == nil {
						ready++
					}
				}
			}
			if ready == n && len(list.Items) == n {
				return list.Items
			}
		}
		if time.Now().After(deadline) {
			fatalf(l.t, "pods %s in %s: want %d ready, have %v (%v)", selector, ns, n, podNames(list), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func podNames(list *corev1.PodList) []string {
	if list == nil {
		return nil
	}
	var out []string
	for _, p := range list.Items {
		out = append(out, p.Name+"("+string(p.Status.Phase)+")")
	}
	return out
}

// seedOf seeds a journey's routing draws by its name.
func seedOf(name string) uint64 {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(name); i++ {
		h = (h ^ uint64(name[i])) * 1099511628211
	}
	return h
}
