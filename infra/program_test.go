package infra_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/modelrollouts/modelrollouts/infra"
	"github.com/modelrollouts/modelrollouts/internal/mocks"
	"github.com/modelrollouts/modelrollouts/stacks"
)

const projectDir = ".."

// stackConfig reads a real stack file the way the program receives it.
func stackConfig(t *testing.T, stack string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(projectDir, "Pulumi."+stack+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := stacks.ConfigMap(data)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// deployed runs the whole program for a config and returns what it
// registered and the stack outputs, decoded as smoke tests decode them.
func deployed(t *testing.T, config map[string]string, opts ...infra.Option) (*mocks.Recorder, *stacks.Outputs) {
	t.Helper()
	rec, raw := deployedRaw(t, config, opts...)
	// Through stacks.ParseOutputs, the path `pulumi stack output --json`
	// takes to a smoke test, which also checks a smoke test could use them.
	outputs, err := stacks.ParseOutputs(raw)
	if err != nil {
		t.Fatal(err)
	}
	return rec, outputs
}

// deployedRaw runs the whole program and returns the stack outputs as
// `pulumi stack output --json` prints them.
func deployedRaw(t *testing.T, config map[string]string, opts ...infra.Option) (*mocks.Recorder, []byte) {
	t.Helper()
	var raw []byte
	rec, err := mocks.Run(func(ctx *pulumi.Context) error {
		cfg, err := stacks.Load(func(name string) (string, bool) { return ctx.GetConfig(stacks.Namespace + ":" + name) })
		if err != nil {
			return err
		}
		out, err := infra.Deploy(ctx, cfg, projectDir, opts...)
		if err != nil {
			return err
		}
		out.ToMapOutput().ApplyT(func(m map[string]any) (map[string]any, error) {
			raw, err = json.Marshal(m)
			return m, err
		})
		return nil
	}, config)
	if err != nil {
		t.Fatal(err)
	}
	if raw == nil {
		t.Fatal("no outputs resolved")
	}
	return rec, raw
}

func types(rec *mocks.Recorder) map[string]int {
	n := map[string]int{}
	for _, r := range rec.Resources() {
		n[r.Type]++
	}
	return n
}

func TestDevStackDeploysAKindCanaryLab(t *testing.T) {
	rec, out := deployed(t, stackConfig(t, "dev"))
	want := map[string]int{
		"modelrollouts:index:KindCluster":                 1,
		"command:local:Command":                           3, // kind create, kind load ×2
		"pulumi:providers:kubernetes":                     1,
		"modelrollouts:index:IstioMesh":                   1,
		"kubernetes:helm.sh/v3:Release":                   3,
		"modelrollouts:index:KnativeServing":              1,
		"kubernetes:yaml/v2:ConfigGroup":                  3,
		"kubernetes:core/v1:ConfigMapPatch":               4,
		"modelrollouts:index:ModelImage":                  2, // the model, the smoke client
		"docker:index/image:Image":                        2,
		"kubernetes:core/v1:Namespace":                    1,
		"modelrollouts:index:CanaryModel":                 1,
		"kubernetes:serving.knative.dev/v1:Configuration": 2,
		"kubernetes:serving.knative.dev/v1:Route":         1,
	}
	assertTypes(t, types(rec), want)
	assertEveryKubernetesResourceUsesTheKindProvider(t, rec)

	if out.Strategy != stacks.StrategyCanary || out.Namespace != "models" {
		t.Errorf("strategy %q namespace %q", out.Strategy, out.Namespace)
	}
	if out.IngressURL != "http://127.0.0.1:8080" {
		t.Errorf("ingressUrl %q", out.IngressURL)
	}
	if out.Host != "model.models.example.com" {
		t.Errorf("host %q", out.Host)
	}
	if out.Split["v1"] != 90 || out.Split["v2"] != 10 || len(out.Split) != 2 {
		t.Errorf("split %v", out.Split)
	}
	v2 := out.Versions["v2"]
	if v2.Target != "model v2" || v2.Host != "v2-model.models.example.com" || v2.URL != "http://v2-model.models.example.com" || v2.Tag != "v2" || v2.Percent == nil || *v2.Percent != 10 || v2.PodSelector != "app=model,version=v2" {
		t.Errorf("versions[v2] %+v", v2)
	}
	if !strings.Contains(out.Kubeconfig, "kind: Config") {
		t.Errorf("kubeconfig output %q", out.Kubeconfig)
	}
	// The cluster name is plain where it is used: previews show it.
	load, _ := rec.Find("command:local:Command", "model-echo-kind-load")
	if name := load.Inputs["environment"].ObjectValue()["KIND_CLUSTER_NAME"]; !name.IsString() || name.StringValue() != "modelrollouts-dev" {
		t.Errorf("kind load KIND_CLUSTER_NAME %v, want the plain name modelrollouts-dev", name)
	}

	// Inside the cluster the Route answers on its cluster-local names.
	if in := out.InCluster; in == nil || in.URL != "http://model.models.svc.cluster.local" || in.Host != "model.models.svc.cluster.local" ||
		in.VersionHosts["v2"] != "v2-model.models.svc.cluster.local" || in.Sidecar {
		t.Errorf("inCluster %+v", out.InCluster)
	}
	if v2.RouteHeader != nil {
		t.Errorf("versions[v2].routeHeader %+v without header routing", v2.RouteHeader)
	}

	// The image tag follows the sources, and the kind-loaded image is in
	// a registry Knative skips.
	image, _ := rec.Find("docker:index/image:Image", "model-echo")
	name := image.Inputs["imageName"].StringValue()
	if !strings.HasPrefix(name, "kind.local/model-echo:") || len(name) != len("kind.local/model-echo:")+12 {
		t.Errorf("image name %q", name)
	}
	cfg, _ := rec.Find("kubernetes:serving.knative.dev/v1:Configuration", "model-v1")
	container := cfg.Inputs["spec"].ObjectValue()["template"].ObjectValue()["spec"].ObjectValue()["containers"].ArrayValue()[0]
	if got := container.ObjectValue()["image"].StringValue(); got != name {
		t.Errorf("model-v1 runs %q, want the built image %q", got, name)
	}
}

func TestShadowStackDeploysAKindShadowLab(t *testing.T) {
	rec, out := deployed(t, stackConfig(t, "shadow"))
	n := types(rec)
	if n["kubernetes:yaml/v2:ConfigGroup"] != 0 {
		t.Error("the shadow strategy installed Knative, which it does not use")
	}
	for _, typ := range []string{
		"modelrollouts:index:ShadowModel", "kubernetes:networking.istio.io/v1:VirtualService",
		"kubernetes:networking.istio.io/v1:DestinationRule", "kubernetes:networking.istio.io/v1:Gateway",
		"kubernetes:core/v1:Service",
	} {
		if n[typ] != 1 {
			t.Errorf("%d %s, want 1", n[typ], typ)
		}
	}
	if n["kubernetes:apps/v1:Deployment"] != 2 {
		t.Errorf("%d Deployments, want 2", n["kubernetes:apps/v1:Deployment"])
	}
	assertEveryKubernetesResourceUsesTheKindProvider(t, rec)
	ns, _ := rec.Find("kubernetes:core/v1:Namespace", "models")
	if got := ns.Inputs["metadata"].ObjectValue()["labels"].ObjectValue()["istio-injection"]; !got.IsString() || got.StringValue() != "enabled" {
		t.Errorf("namespace istio-injection %v, want enabled", got)
	}
	if out.Primary != "v1" || out.Shadow != "v2" || out.MirrorPercent == nil || *out.MirrorPercent != 50 {
		t.Errorf("primary %q shadow %q mirror %v", out.Primary, out.Shadow, out.MirrorPercent)
	}
	if out.IngressURL != "http://127.0.0.1:8081" || out.Host != "model.example.com" {
		t.Errorf("ingress %q host %q", out.IngressURL, out.Host)
	}
	if out.Versions["v2"].Host != "v2.model.example.com" || out.Versions["v2"].Role != "shadow" {
		t.Errorf("versions[v2] %+v", out.Versions["v2"])
	}
	// The smoke test reads every pod of the shadow: it needs how many
	// there are and how to select them.
	dep, _ := rec.Find("kubernetes:apps/v1:Deployment", "model-v2")
	replicas := int(dep.Inputs["spec"].ObjectValue()["replicas"].NumberValue())
	if r := out.Versions["v2"].Replicas; r == nil || *r != replicas {
		t.Errorf("versions[v2].replicas %v, want the Deployment's %d", r, replicas)
	}
	if sel := out.Versions["v2"].PodSelector; sel != "app=model,version=v2" {
		t.Errorf("versions[v2].podSelector %q", sel)
	}
	// Bound to the mesh too by default: a pod with a sidecar calls the
	// Service and picks a version by the same hosts.
	if out.BindTo != stacks.BindBoth {
		t.Errorf("bindTo %q", out.BindTo)
	}
	if in := out.InCluster; in == nil || in.URL != "http://model.models.svc.cluster.local" || !in.Sidecar ||
		in.VersionHosts["v2"] != "v2.model.example.com" {
		t.Errorf("inCluster %+v", out.InCluster)
	}
	vs, _ := rec.Find("kubernetes:networking.istio.io/v1:VirtualService", "model")
	var gateways []string
	for _, g := range vs.Inputs["spec"].ObjectValue()["gateways"].ArrayValue() {
		gateways = append(gateways, g.StringValue())
	}
	if strings.Join(gateways, ",") != "model-gateway,mesh" {
		t.Errorf("VirtualService gateways %v", gateways)
	}
}

func TestSmokeClientImageIsBuiltAndLoadedBesideTheModels(t *testing.T) {
	rec, out := deployed(t, stackConfig(t, "shadow"))
	model, _ := rec.Find("docker:index/image:Image", "model-echo")
	client, ok := rec.Find("docker:index/image:Image", "smoke-client")
	if !ok {
		t.Fatal("no smoke client image")
	}
	name := client.Inputs["imageName"].StringValue()
	if !strings.HasPrefix(name, "kind.local/model-echo-smoke:") || len(name) != len("kind.local/model-echo-smoke:")+12 {
		t.Errorf("smoke image name %q", name)
	}
	if got := client.Inputs["build"].ObjectValue()["dockerfile"].StringValue(); !strings.HasSuffix(got, "cmd/smoke/Dockerfile") {
		t.Errorf("smoke image dockerfile %q", got)
	}
	if out.SmokeImage != name {
		t.Errorf("smokeImage output %q, want %q", out.SmokeImage, name)
	}
	if model.Inputs["imageName"].StringValue() == name {
		t.Error("the model and the smoke client share an image name")
	}
	loads := 0
	for _, c := range rec.ByType("command:local:Command") {
		if strings.Contains(c.Inputs["create"].StringValue(), "kind load") {
			loads++
		}
	}
	if loads != 2 {
		t.Errorf("%d kind loads, want the model's and the smoke client's", loads)
	}
}

func TestHeaderRoutingPublishesEachVersionsRouteHeader(t *testing.T) {
	shadow := stackConfig(t, "shadow")
	shadow["modelrollouts:shadow"] = strings.Replace(shadow["modelrollouts:shadow"], `"mirrorPercent"`, `"headerRouting":true,"bindTo":"mesh","mirrorPercent"`, 1)
	rec, out := deployed(t, shadow)
	if h := out.Versions["v2"].RouteHeader; h == nil || h.Name != "X-Model-Version" || h.Value != "v2" {
		t.Errorf("shadow versions[v2].routeHeader %+v", h)
	}
	if out.BindTo != stacks.BindMesh || out.ReachableFromOutside() {
		t.Errorf("bindTo %q", out.BindTo)
	}
	if _, ok := rec.Find("kubernetes:networking.istio.io/v1:Gateway", "model-gateway"); ok {
		t.Error("a mesh-only shadow registered a Gateway")
	}

	dev := stackConfig(t, "dev")
	dev["modelrollouts:canary"] = strings.Replace(dev["modelrollouts:canary"], `"versions"`, `"headerRouting":true,"versions"`, 1)
	rec, out = deployed(t, dev)
	if h := out.Versions["v2"].RouteHeader; h == nil || h.Name != "Knative-Serving-Tag" || h.Value != "v2" {
		t.Errorf("canary versions[v2].routeHeader %+v", h)
	}
	features, _ := rec.Find("kubernetes:core/v1:ConfigMapPatch", "knative-config-features")
	if got := features.Inputs["data"].ObjectValue()["tag-header-based-routing"].StringValue(); got != "Enabled" {
		t.Errorf("config-features tag-header-based-routing %q", got)
	}
}

func TestCloudStackTargetsTheExistingClusterWithoutKindOrDocker(t *testing.T) {
	lb := gatewayService(corev1.ServiceTypeLoadBalancer, corev1.LoadBalancerIngress{IP: "203.0.113.10"})
	rec, out := deployed(t, stackConfig(t, "cloud"), withCluster(fake.NewClientset(lb)))
	n := types(rec)
	for _, typ := range []string{"modelrollouts:index:KindCluster", "command:local:Command", "docker:index/image:Image"} {
		if n[typ] != 0 {
			t.Errorf("%d %s on an existing cluster", n[typ], typ)
		}
	}
	providers := rec.ByType("pulumi:providers:kubernetes")
	if len(providers) != 1 || providers[0].Inputs["context"].StringValue() != "my-cloud-cluster" {
		t.Fatalf("providers %+v, want one for context my-cloud-cluster", providers)
	}
	for _, r := range rec.Resources() {
		if r.Custom && strings.HasPrefix(r.Type, "kubernetes:") && !strings.Contains(r.Provider, "::existing-cluster::") {
			t.Errorf("%s %s uses provider %q", r.Type, r.Name, r.Provider)
		}
	}
	cfg, _ := rec.Find("kubernetes:serving.knative.dev/v1:Configuration", "model-v1")
	container := cfg.Inputs["spec"].ObjectValue()["template"].ObjectValue()["spec"].ObjectValue()["containers"].ArrayValue()[0]
	if got := container.ObjectValue()["image"].StringValue(); got != "ghcr.io/example/model-echo:1.0.0" {
		t.Errorf("image %q, want the configured ref", got)
	}
	gw, _ := rec.Find("kubernetes:helm.sh/v3:Release", "istio-gateway")
	if got := gw.Inputs["values"].ObjectValue()["service"].ObjectValue()["type"].StringValue(); got != "LoadBalancer" {
		t.Errorf("gateway service %q", got)
	}
	if out.IngressURL != "http://203.0.113.10" || out.IngressPending != "" {
		t.Errorf("ingressUrl %q, want the gateway's load balancer", out.IngressURL)
	}
	if out.Kubeconfig != "" {
		t.Error("an existing cluster's kubeconfig must not become an output")
	}
}

func TestInvalidConfigRegistersNothing(t *testing.T) {
	config := stackConfig(t, "dev")
	config["modelrollouts:canary"] = `{"versions":[{"name":"v1","target":"a","percent":90},{"name":"V2","target":"b","percent":20}]}`
	rec, err := mocks.Run(infra.Program, config)
	if err == nil {
		t.Fatal("an invalid config deployed")
	}
	for _, want := range []string{
		"modelrollouts:canary.versions[1].name",
		"modelrollouts:canary.versions: percents sum to 110, want 100",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if got := rec.Resources(); len(got) != 0 {
		t.Errorf("an invalid config registered %d resources: %v", len(got), got[0].Type)
	}
}

func TestProgramReadsItsConfigFromPulumi(t *testing.T) {
	rec, err := mocks.Run(infra.Program, stackConfig(t, "shadow"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.ByType("modelrollouts:index:ShadowModel")) != 1 {
		t.Error("the shadow stack's config did not reach the program")
	}
}

func assertTypes(t *testing.T, got, want map[string]int) {
	t.Helper()
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	for k := range want {
		if _, ok := got[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if got[k] != want[k] {
			t.Errorf("%s: registered %d, want %d", k, got[k], want[k])
		}
	}
}

func assertEveryKubernetesResourceUsesTheKindProvider(t *testing.T, rec *mocks.Recorder) {
	t.Helper()
	for _, r := range rec.Resources() {
		if (r.Custom || r.Type == "kubernetes:yaml/v2:ConfigGroup") && strings.HasPrefix(r.Type, "kubernetes:") &&
			!strings.Contains(r.Provider, "pulumi:providers:kubernetes::") {
			t.Errorf("%s %s uses provider %q, want the kind cluster's", r.Type, r.Name, r.Provider)
		}
	}
}

// `pulumi config set --path 'canary.versions[0].env.THREADS' 4` stores a
// number and `... true` a boolean; the program reads them through Pulumi's
// config as the strings the container's env needs.
func TestTypedScalarsReachTheContainerEnvAsStrings(t *testing.T) {
	config := stackConfig(t, "dev")
	config["modelrollouts:canary"] = `{"versions":[{"name":"v1","target":42,"percent":100,"env":{"THREADS":4,"DEBUG":true,"TRACE_ID":12345678901234567890}}]}`
	rec, err := mocks.Run(infra.Program, config)
	if err != nil {
		t.Fatal(err)
	}
	cfg, ok := rec.Find("kubernetes:serving.knative.dev/v1:Configuration", "model-v1")
	if !ok {
		t.Fatal("no Configuration model-v1")
	}
	container := cfg.Inputs["spec"].ObjectValue()["template"].ObjectValue()["spec"].ObjectValue()["containers"].ArrayValue()[0]
	env := map[string]string{}
	for _, e := range container.ObjectValue()["env"].ArrayValue() {
		env[e.ObjectValue()["name"].StringValue()] = e.ObjectValue()["value"].StringValue()
	}
	for name, want := range map[string]string{"TARGET": "42", "THREADS": "4", "DEBUG": "true", "TRACE_ID": "12345678901234567890"} {
		if env[name] != want {
			t.Errorf("env %s = %q, want %q (all: %v)", name, env[name], want, env)
		}
	}
}

// payloadLog reaches the model container as PAYLOAD_LOG (and loggerUrl as
// LOGGER_URL): on in the shadow stack, off in the canary one unless set.
func TestPayloadLogReachesTheContainerEnv(t *testing.T) {
	containerEnv := func(rec *mocks.Recorder, typ, name string) map[string]string {
		t.Helper()
		res, ok := rec.Find(typ, name)
		if !ok {
			t.Fatalf("no %s %s", typ, name)
		}
		container := res.Inputs["spec"].ObjectValue()["template"].ObjectValue()["spec"].ObjectValue()["containers"].ArrayValue()[0]
		env := map[string]string{}
		for _, e := range container.ObjectValue()["env"].ArrayValue() {
			env[e.ObjectValue()["name"].StringValue()] = e.ObjectValue()["value"].StringValue()
		}
		return env
	}
	rec, _ := deployed(t, stackConfig(t, "shadow"))
	for _, name := range []string{"model-v1", "model-v2"} {
		if env := containerEnv(rec, "kubernetes:apps/v1:Deployment", name); env["PAYLOAD_LOG"] != "true" || env["LOGGER_URL"] != "" {
			t.Errorf("%s env %v, want PAYLOAD_LOG=true and no LOGGER_URL", name, env)
		}
	}

	config := stackConfig(t, "dev")
	config["modelrollouts:canary"] = `{"versions":[{"name":"v1","target":"a","percent":90},` +
		`{"name":"v2","target":"b","percent":10,"payloadLog":"true","loggerUrl":"http://sink.default.svc/events"}]}`
	rec, err := mocks.Run(infra.Program, config)
	if err != nil {
		t.Fatal(err)
	}
	if env := containerEnv(rec, "kubernetes:serving.knative.dev/v1:Configuration", "model-v1"); env["PAYLOAD_LOG"] != "" {
		t.Errorf("canary v1 logs payloads unasked: %v", env)
	}
	if env := containerEnv(rec, "kubernetes:serving.knative.dev/v1:Configuration", "model-v2"); env["PAYLOAD_LOG"] != "true" || env["LOGGER_URL"] != "http://sink.default.svc/events" {
		t.Errorf("canary v2 env %v, want PAYLOAD_LOG=true, LOGGER_URL set", env)
	}
}
