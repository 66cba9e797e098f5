package components_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/modelrollouts/modelrollouts/components"
	"github.com/modelrollouts/modelrollouts/internal/mocks"
	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

const (
	knConfiguration = "kubernetes:serving.knative.dev/v1:Configuration"
	knRoute         = "kubernetes:serving.knative.dev/v1:Route"
	destinationRule = "kubernetes:networking.istio.io/v1:DestinationRule"
	virtualService  = "kubernetes:networking.istio.io/v1:VirtualService"
	istioGateway    = "kubernetes:networking.istio.io/v1:Gateway"
)

func intPtr(n int) *int { return &n }

func canaryArgs(percents ...int) *components.CanaryModelArgs {
	args := &components.CanaryModelArgs{
		Namespace: pulumi.String("models"), Service: "model", Domain: "example.com", WaitForReady: true,
	}
	for i, p := range percents {
		name := []string{"v1", "v2", "v3"}[i]
		args.Versions = append(args.Versions, components.CanaryVersion{
			ModelVersion: components.ModelVersion{Name: name, Target: "model " + name, Image: pulumi.String("kind.local/model-echo:abc")},
			Percent:      p,
			Tag:          name,
		})
	}
	args.Versions[0].MinScale = intPtr(1)
	return args
}

func runCanary(t *testing.T, args *components.CanaryModelArgs) (*mocks.Recorder, string, map[string]string) {
	var host string
	var hosts map[string]string
	rec := withProvider(t, func(ctx *pulumi.Context, k8s pulumi.ResourceOption) error {
		c, err := components.NewCanaryModel(ctx, "model", args, k8s)
		if err != nil {
			return err
		}
		c.Host.ApplyT(func(h string) string { host = h; return h })
		c.VersionHosts.ApplyT(func(m map[string]string) map[string]string { hosts = m; return m })
		return nil
	})
	return rec, host, hosts
}

func TestCanaryModelSplitsTrafficAcrossOneConfigurationPerVersion(t *testing.T) {
	rec, host, hosts := runCanary(t, canaryArgs(90, 10))
	assertChildrenOf(t, rec, "modelrollouts:index:CanaryModel")

	for _, name := range []string{"v1", "v2"} {
		cfg := mustFind(t, rec, knConfiguration, "model-"+name)
		if kind := str(t, cfg.Inputs, "kind"); kind != "Configuration" {
			t.Errorf("model-%s is a %s", name, kind)
		}
		if got := str(t, cfg.Inputs, "apiVersion"); got != "serving.knative.dev/v1" {
			t.Errorf("apiVersion %q", got)
		}
		containers := get(t, cfg.Inputs, "spec", "template", "spec", "containers").ArrayValue()
		if len(containers) != 1 {
			t.Fatalf("want one container, got %d", len(containers))
		}
		env := envOf(t, containers[0])
		if env["TARGET"] != "model "+name || env["MODEL_VERSION"] != name || env["MODEL_NAME"] != "model" {
			t.Errorf("env %v", env)
		}
		c := containers[0].ObjectValue()
		if c["image"].StringValue() != "kind.local/model-echo:abc" {
			t.Errorf("image %v", c["image"])
		}
		// Knative probes the one declared port itself: naming one breaks it.
		if probe := get(t, c["readinessProbe"].ObjectValue(), "httpGet"); probe.ObjectValue().HasValue("port") {
			t.Errorf("knative readiness probe names a port: %v", probe)
		}
		if got := str(t, cfg.Inputs, "metadata", "annotations", "pulumi.com/waitFor"); got != "condition=Ready" {
			t.Errorf("waitFor %q", got)
		}
	}
	v1 := mustFind(t, rec, knConfiguration, "model-v1")
	if got := str(t, v1.Inputs, "spec", "template", "metadata", "annotations", "autoscaling.knative.dev/min-scale"); got != "1" {
		t.Errorf("v1 min-scale %q, want 1", got)
	}
	v2 := mustFind(t, rec, knConfiguration, "model-v2")
	if a := get(t, v2.Inputs, "spec", "template", "metadata", "annotations"); a.ObjectValue().HasValue("autoscaling.knative.dev/min-scale") {
		t.Error("v2 has a min-scale though none was set: it could not scale to zero")
	}

	route := mustFind(t, rec, knRoute, "model")
	if kind := str(t, route.Inputs, "kind"); kind != "Route" {
		t.Fatalf("model is a %s, want Route", kind)
	}
	if got := traffic(t, route); !reflect.DeepEqual(got, []target{
		{"model-v1", 90, "v1", true}, {"model-v2", 10, "v2", true},
	}) {
		t.Errorf("traffic %+v", got)
	}
	if !dependsOn(route, v1) || !dependsOn(route, v2) {
		t.Error("the Route must wait for the Configurations it routes to")
	}
	if host != "model.models.example.com" {
		t.Errorf("host %q", host)
	}
	if want := map[string]string{"v1": "v1-model.models.example.com", "v2": "v2-model.models.example.com"}; !reflect.DeepEqual(hosts, want) {
		t.Errorf("version hosts %v, want %v", hosts, want)
	}
}

type target struct {
	Configuration string
	Percent       float64
	Tag           string
	Latest        bool
}

func traffic(t *testing.T, route mocks.Resource) []target {
	t.Helper()
	var out []target
	for _, e := range get(t, route.Inputs, "spec", "traffic").ArrayValue() {
		o := e.ObjectValue()
		tt := target{Configuration: o["configurationName"].StringValue(), Percent: o["percent"].NumberValue(), Latest: o["latestRevision"].BoolValue()}
		if o.HasValue("tag") {
			tt.Tag = o["tag"].StringValue()
		}
		out = append(out, tt)
	}
	return out
}

func TestCanaryPercentChangeTouchesOnlyTheRoute(t *testing.T) {
	before, _, _ := runCanary(t, canaryArgs(90, 10))
	after, _, _ := runCanary(t, canaryArgs(50, 50))
	for _, name := range []string{"model-v1", "model-v2"} {
		a := mustFind(t, before, knConfiguration, name)
		b := mustFind(t, after, knConfiguration, name)
		if !a.Inputs.DeepEquals(b.Inputs) {
			t.Errorf("%s changed with the percents: a new revision for a routing change", name)
		}
	}
	if a, b := mustFind(t, before, knRoute, "model"), mustFind(t, after, knRoute, "model"); a.Inputs.DeepEquals(b.Inputs) {
		t.Error("the Route did not change with the percents")
	}
}

func TestCanaryAddingAVersionAddsItsConfigurationAndRouteEntry(t *testing.T) {
	rec, _, _ := runCanary(t, canaryArgs(80, 10, 10))
	mustFind(t, rec, knConfiguration, "model-v3")
	if got := traffic(t, mustFind(t, rec, knRoute, "model")); len(got) != 3 || got[2].Configuration != "model-v3" || got[2].Percent != 10 {
		t.Errorf("traffic %+v", got)
	}
}

func TestCanaryWithoutAKnativeControllerSkipsAwait(t *testing.T) {
	args := canaryArgs(100)
	args.WaitForReady = false
	rec, _, _ := runCanary(t, args)
	for _, res := range []mocks.Resource{mustFind(t, rec, knRoute, "model"), mustFind(t, rec, knConfiguration, "model-v1")} {
		name := res.Name
		if got := str(t, res.Inputs, "metadata", "annotations", "pulumi.com/skipAwait"); got != "true" {
			t.Errorf("%s skipAwait %q", name, got)
		}
	}
}

func shadowArgs(mirror float64) *components.ShadowModelArgs {
	version := func(name string, bias float64) components.ShadowVersion {
		return components.ShadowVersion{
			ModelVersion: components.ModelVersion{Name: name, Target: "model " + name, Image: pulumi.String("img:1"), Bias: bias},
			Replicas:     1,
		}
	}
	return &components.ShadowModelArgs{
		Namespace: pulumi.String("models"), Service: "model", Host: "model.example.com",
		Primary: version("v1", 0), Shadow: version("v2", 0.5), MirrorPercent: mirror,
		ViaGateway: true, InMesh: true,
	}
}

func runShadow(t *testing.T, args *components.ShadowModelArgs) (*mocks.Recorder, map[string]string) {
	var hosts map[string]string
	rec := withProvider(t, func(ctx *pulumi.Context, k8s pulumi.ResourceOption) error {
		s, err := components.NewShadowModel(ctx, "model", args, k8s)
		if err != nil {
			return err
		}
		s.VersionHosts.ApplyT(func(m map[string]string) map[string]string { hosts = m; return m })
		return nil
	})
	return rec, hosts
}

func TestShadowModelRoutesUsersToThePrimaryAndMirrorsToTheShadow(t *testing.T) {
	rec, hosts := runShadow(t, shadowArgs(25))
	assertChildrenOf(t, rec, "modelrollouts:index:ShadowModel")

	for _, name := range []string{"v1", "v2"} {
		d := mustFind(t, rec, "kubernetes:apps/v1:Deployment", "model-"+name)
		if got := str(t, d.Inputs, "spec", "template", "metadata", "labels", "version"); got != name {
			t.Errorf("model-%s pods labelled version=%q", name, got)
		}
		pod := get(t, d.Inputs, "spec", "template", "spec").ObjectValue()
		assertRestricted(t, "model-"+name, pod)
	}
	if bias := envOf(t, get(t, mustFind(t, rec, "kubernetes:apps/v1:Deployment", "model-v2").Inputs, "spec", "template", "spec", "containers").ArrayValue()[0])["MODEL_BIAS"]; bias != "0.5" {
		t.Errorf("shadow MODEL_BIAS %q", bias)
	}
	svc := mustFind(t, rec, "kubernetes:core/v1:Service", "model")
	if got := str(t, svc.Inputs, "spec", "selector", "app"); got != "model" {
		t.Errorf("service selects app=%q", got)
	}

	dr := mustFind(t, rec, destinationRule, "model")
	subsets := map[string]string{}
	for _, s := range get(t, dr.Inputs, "spec", "subsets").ArrayValue() {
		o := s.ObjectValue()
		subsets[o["name"].StringValue()] = o["labels"].ObjectValue()["version"].StringValue()
	}
	if !reflect.DeepEqual(subsets, map[string]string{"v1": "v1", "v2": "v2"}) {
		t.Errorf("subsets %v", subsets)
	}

	vs := mustFind(t, rec, virtualService, "model")
	if !dependsOn(vs, dr) {
		t.Error("the VirtualService must come after the DestinationRule that defines its subsets")
	}
	var users resource.PropertyMap
	for _, route := range get(t, vs.Inputs, "spec", "http").ArrayValue() {
		o := route.ObjectValue()
		for _, dest := range o["route"].ArrayValue() {
			assertSubsetExists(t, subsets, dest.ObjectValue()["destination"])
		}
		if o.HasValue("mirror") {
			assertSubsetExists(t, subsets, o["mirror"])
		}
		if o["name"].StringValue() == "users" {
			users = o
		}
	}
	if users == nil {
		t.Fatal("no users route")
	}
	dests := users["route"].ArrayValue()
	if len(dests) != 1 || dests[0].ObjectValue()["destination"].ObjectValue()["subset"].StringValue() != "v1" {
		t.Errorf("users are routed to %v, want only the primary", dests)
	}
	if got := users["mirror"].ObjectValue()["subset"].StringValue(); got != "v2" {
		t.Errorf("mirror to %q, want the shadow", got)
	}
	if got := users["mirrorPercentage"].ObjectValue()["value"].NumberValue(); got != 25 {
		t.Errorf("mirrorPercentage.value %v, want 25", got)
	}
	if want := map[string]string{"v1": "v1.model.example.com", "v2": "v2.model.example.com"}; !reflect.DeepEqual(hosts, want) {
		t.Errorf("version hosts %v", hosts)
	}
	gw := mustFind(t, rec, istioGateway, "model-gateway")
	if got := str(t, gw.Inputs, "spec", "selector", "istio"); got != "ingressgateway" {
		t.Errorf("gateway selects istio=%q", got)
	}
}

func assertSubsetExists(t *testing.T, subsets map[string]string, dest resource.PropertyValue) {
	t.Helper()
	if s := dest.ObjectValue()["subset"].StringValue(); subsets[s] == "" {
		t.Errorf("destination subset %q has no DestinationRule subset", s)
	}
}

func assertRestricted(t *testing.T, name string, pod resource.PropertyMap) {
	t.Helper()
	if !pod["securityContext"].ObjectValue()["runAsNonRoot"].BoolValue() {
		t.Errorf("%s: pod may run as root", name)
	}
	c := pod["containers"].ArrayValue()[0].ObjectValue()
	sc := c["securityContext"].ObjectValue()
	if !sc["runAsNonRoot"].BoolValue() || sc["allowPrivilegeEscalation"].BoolValue() || !sc["readOnlyRootFilesystem"].BoolValue() {
		t.Errorf("%s: container security context %v", name, sc)
	}
	if drop := sc["capabilities"].ObjectValue()["drop"].ArrayValue(); len(drop) != 1 || drop[0].StringValue() != "ALL" {
		t.Errorf("%s: capabilities drop %v", name, drop)
	}
	if sc["seccompProfile"].ObjectValue()["type"].StringValue() != "RuntimeDefault" {
		t.Errorf("%s: seccomp %v", name, sc["seccompProfile"])
	}
	res := c["resources"].ObjectValue()
	if !res.HasValue("requests") || !res.HasValue("limits") {
		t.Errorf("%s: resources %v", name, res)
	}
	if path := c["readinessProbe"].ObjectValue()["httpGet"].ObjectValue()["path"].StringValue(); path != "/v2/health/ready" {
		t.Errorf("%s: readiness probe %q", name, path)
	}
}

func TestShadowMirrorPercentChangeTouchesOnlyTheVirtualService(t *testing.T) {
	before, _ := runShadow(t, shadowArgs(25))
	after, _ := runShadow(t, shadowArgs(75))
	for _, res := range before.Resources() {
		other, ok := after.Find(res.Type, res.Name)
		if !ok {
			t.Fatalf("%s %s vanished", res.Type, res.Name)
		}
		changed := !res.Inputs.DeepEquals(other.Inputs)
		if want := res.Type == virtualService; changed != want {
			t.Errorf("%s changed=%v, want %v", res.Name, changed, want)
		}
	}
}

func TestShadowAtZeroPercentMirrorsNothing(t *testing.T) {
	rec, _ := runShadow(t, shadowArgs(0))
	vs := mustFind(t, rec, virtualService, "model")
	for _, route := range get(t, vs.Inputs, "spec", "http").ArrayValue() {
		if route.ObjectValue().HasValue("mirror") {
			t.Errorf("route %v mirrors at 0%%", route)
		}
	}
}

// runImage registers a ModelImage and returns the image ref it resolves to.
func runImage(t *testing.T, args *components.ModelImageArgs) (*mocks.Recorder, string) {
	t.Helper()
	var ref string
	rec, err := mocks.Run(func(ctx *pulumi.Context) error {
		img, err := components.NewModelImage(ctx, "model-echo", args)
		if err != nil {
			return err
		}
		img.Ref.ApplyT(func(s string) string { ref = s; return s })
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rec, ref
}

func TestModelImageLoadsIntoKindWhenTheImageChanges(t *testing.T) {
	rec, ref := runImage(t, &components.ModelImageArgs{
		ImageName: "kind.local/model-echo:abc", Context: "/src", Dockerfile: "/src/model-echo/Dockerfile",
		KindClusterName: pulumi.String("lab"),
	})
	image := mustFind(t, rec, "docker:index/image:Image", "model-echo")
	if !get(t, image.Inputs, "skipPush").BoolValue() {
		t.Error("a kind image must not be pushed")
	}
	if got := str(t, image.Inputs, "build", "dockerfile"); got != "/src/model-echo/Dockerfile" {
		t.Errorf("dockerfile %q", got)
	}
	load := mustFind(t, rec, "command:local:Command", "model-echo-kind-load")
	triggers := get(t, load.Inputs, "triggers").ArrayValue()
	if len(triggers) != 2 || triggers[0].StringValue() != "kind.local/model-echo:abc" {
		t.Errorf("load triggers %v: it must re-run when the image changes", triggers)
	}
	if ref != "kind.local/model-echo:abc" {
		t.Errorf("ref %q", ref)
	}
}

func TestModelImagePushedToARegistryIsPinnedByDigest(t *testing.T) {
	rec, ref := runImage(t, &components.ModelImageArgs{
		ImageName: "ghcr.io/me/model-echo:abc", Context: "/src", Dockerfile: "/src/model-echo/Dockerfile",
		Registry: &docker.RegistryArgs{Server: pulumi.String("ghcr.io"), Username: pulumi.String("me")},
	})
	image := mustFind(t, rec, "docker:index/image:Image", "model-echo")
	if get(t, image.Inputs, "skipPush").BoolValue() {
		t.Error("an image for an existing cluster must be pushed")
	}
	if got := str(t, image.Inputs, "registry", "server"); got != "ghcr.io" {
		t.Errorf("registry %q", got)
	}
	if len(rec.ByType("command:local:Command")) != 0 {
		t.Error("an image for an existing cluster was loaded into kind")
	}
	if want := "ghcr.io/me/model-echo:abc@sha256:" + strings.Repeat("0", 64); ref != want {
		t.Errorf("ref %q, want the pushed digest %q", ref, want)
	}
}

func TestPayloadLogSetsTheModelContainerEnv(t *testing.T) {
	args := shadowArgs(50)
	args.Shadow.PayloadLog, args.Shadow.LoggerURL = true, "http://sink.default.svc/events"
	rec, _ := runShadow(t, args)
	container := func(name string) resource.PropertyValue {
		return get(t, mustFind(t, rec, "kubernetes:apps/v1:Deployment", name).Inputs, "spec", "template", "spec", "containers").ArrayValue()[0]
	}
	if env := envOf(t, container("model-v2")); env["PAYLOAD_LOG"] != "true" || env["LOGGER_URL"] != "http://sink.default.svc/events" {
		t.Errorf("shadow env %v", env)
	}
	if env := envOf(t, container("model-v1")); env["PAYLOAD_LOG"] != "" || env["LOGGER_URL"] != "" {
		t.Errorf("primary logs payloads unasked: %v", env)
	}
	// The shadow report finds the logs by this container name.
	if name := container("model-v1").ObjectValue()["name"].StringValue(); name != modelapi.ContainerName {
		t.Errorf("container %q, want %q", name, modelapi.ContainerName)
	}
}
