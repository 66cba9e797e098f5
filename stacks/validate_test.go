package stacks

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
)

func ptr[T any](v T) *T { return &v }

// baseCanary is a valid canary stack on kind before defaults: the shape of
// Pulumi.dev.yaml.
func baseCanary() *Config {
	return &Config{
		Strategy: StrategyCanary,
		Cluster:  ClusterConfig{Type: ClusterKind, Name: "lab"},
		Canary: &CanaryConfig{
			Service: "model",
			Versions: []CanaryVersion{
				{ModelSettings: ModelSettings{Name: "v1", Target: "model v1"}, Percent: ptr(90), MinScale: ptr(1)},
				{ModelSettings: ModelSettings{Name: "v2", Target: "model v2", Bias: 0.5}, Percent: ptr(10)},
			},
		},
	}
}

// baseShadow is a valid shadow stack on kind before defaults: the shape of
// Pulumi.shadow.yaml.
func baseShadow() *Config {
	return &Config{
		Strategy: StrategyShadow,
		Cluster:  ClusterConfig{Type: ClusterKind, Name: "lab"},
		Shadow: &ShadowConfig{
			MirrorPercent: ptr(50.0),
			Versions: []ShadowVersion{
				{ModelSettings: ModelSettings{Name: "v1", Target: "model v1"}, Role: RolePrimary},
				{ModelSettings: ModelSettings{Name: "v2", Target: "model v2"}, Role: RoleShadow},
			},
		},
	}
}

// baseExisting is a valid canary stack on an existing cluster with a
// published image: the shape of Pulumi.cloud.yaml.
func baseExisting() *Config {
	c := baseCanary()
	c.Cluster = ClusterConfig{Type: ClusterExisting, Context: "my-cloud-cluster"}
	c.Image.Ref = "ghcr.io/example/model-echo:1.0.0"
	return c
}

// want is one expected problem: its exact path and part of its message.
type want struct{ path, msg string }

// validationErrors defaults and validates c and returns its problems.
func validationErrors(t *testing.T, c *Config) []Problem {
	t.Helper()
	c.SetDefaults()
	errs := c.Validate()
	if errs != nil && len(errs.Problems()) == 0 {
		t.Fatalf("Validate returned a non-nil *FieldError without problems")
	}
	return errs.Problems()
}

// assertProblems checks that got holds exactly the wanted paths (as a
// multiset) and that each wanted message fragment is in a problem at its path.
func assertProblems(t *testing.T, got []Problem, wants []want) {
	t.Helper()
	gotPaths := make([]string, len(got))
	for i, e := range got {
		gotPaths[i] = e.Path
	}
	wantPaths := make([]string, len(wants))
	for i, w := range wants {
		wantPaths[i] = w.path
	}
	sort.Strings(gotPaths)
	sort.Strings(wantPaths)
	if len(gotPaths) == 0 {
		gotPaths = nil
	}
	if len(wantPaths) == 0 {
		wantPaths = nil
	}
	if !reflect.DeepEqual(gotPaths, wantPaths) {
		t.Fatalf("problem paths = %q, want %q\nall problems: %v", gotPaths, wantPaths, got)
	}
	used := make([]bool, len(got))
	for _, w := range wants {
		found := false
		for i, e := range got {
			if !used[i] && e.Path == w.path && strings.Contains(e.Message, w.msg) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			t.Errorf("no problem at %s mentions %q; got %v", w.path, w.msg, got)
		}
	}
}

// assertIncludes checks that each wanted problem is in got, which may hold
// others.
func assertIncludes(t *testing.T, got []Problem, wants []want) {
	t.Helper()
	for _, w := range wants {
		found := false
		for _, p := range got {
			if p.Path == w.path && strings.Contains(p.Message, w.msg) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no problem at %s mentions %q; got %v", w.path, w.msg, got)
		}
	}
}

const (
	pNamespace = "modelrollouts:namespace"
	pStrategy  = "modelrollouts:strategy"
	pCluster   = "modelrollouts:cluster"
	pCanary    = "modelrollouts:canary"
	pShadow    = "modelrollouts:shadow"
	pImage     = "modelrollouts:image"
	pGateway   = "modelrollouts:platform.istio.gatewayServiceType"
	pDomain    = "modelrollouts:platform.knative.domain"
)

func canaryV(i int, field string) string {
	return fmt.Sprintf("%s.versions[%d].%s", pCanary, i, field)
}

func shadowV(i int, field string) string {
	return fmt.Sprintf("%s.versions[%d].%s", pShadow, i, field)
}

// TestValidateRules has rows for the rules of validate.go, each one
// mutation away from a valid base; the rules added for realistic mistakes
// (image references, env names, DNS-1035, the key blamed) have their own
// tests in mistakes_test.go. Rules by type (validate.go):
//
//	Config:         namespace label; canary required; shadow required;
//	                strategy required; strategy unknown; non-NodePort on kind;
//	                shadow host; image source (kind registry, push, ref)
//	ClusterConfig:  kind name label; workers range; ingressHostPort range;
//	                ingressNodePort range; kubeconfig and context on kind;
//	                kind-only keys on existing; unknown type; ingressUrl
//	Istio/Knative:  unknown gateway type; domain; empty skipTagResolution
//	CanaryConfig:   service label; no versions; duplicate tag; tag host
//	                too long; percents sum
//	CanaryVersion:  percent missing or out of range; tag label; scales
//	ShadowConfig:   service label; mirrorPercent; primary/shadow count
//	ShadowVersion:  unknown role; replicas
//	ModelSettings:  name missing or not a label; duplicate name; target;
//	                latencyMs; errorRate; reserved env
//	ImageConfig:    build+ref; push without registry server
func TestValidateRules(t *testing.T) {
	tests := []struct {
		name   string
		base   func() *Config
		mutate func(c *Config)
		want   []want
	}{
		// Valid configs.
		{"the canary base on kind is valid", baseCanary, func(c *Config) {}, nil},
		{"the shadow base on kind is valid", baseShadow, func(c *Config) {}, nil},
		{"the canary base on an existing cluster is valid", baseExisting, func(c *Config) {}, nil},

		// Validate.
		{"a namespace that is not a DNS label is rejected", baseCanary,
			func(c *Config) { c.Namespace = "Models_1" },
			[]want{{pNamespace, `"Models_1" is not a DNS-1123 label`}}},
		{"a namespace longer than 63 characters is rejected", baseCanary,
			func(c *Config) { c.Namespace = strings.Repeat("n", 64) },
			[]want{{pNamespace, "is not a DNS-1123 label"}}},
		{"the canary strategy without a canary block is rejected", baseCanary,
			func(c *Config) { c.Canary = nil },
			[]want{{pCanary, "required when strategy is canary"}}},
		{"the shadow strategy without a shadow block is rejected", baseShadow,
			func(c *Config) { c.Shadow = nil },
			[]want{{pShadow, "required when strategy is shadow"}}},
		{"a missing strategy is rejected", baseCanary,
			func(c *Config) { c.Strategy = "" },
			[]want{{pStrategy, "required: canary or shadow"}}},
		{"an unknown strategy is rejected", baseCanary,
			func(c *Config) { c.Strategy = "blue-green" },
			[]want{{pStrategy, `unknown strategy "blue-green", want canary or shadow`}}},

		// validateCluster.
		{"a kind cluster name that is not a DNS label is rejected", baseCanary,
			func(c *Config) { c.Cluster.Name = "Lab_1" },
			[]want{{pCluster + ".name", `"Lab_1" is not a DNS-1123 label`}}},
		{"negative workers are rejected", baseCanary,
			func(c *Config) { c.Cluster.Workers = -1 },
			[]want{{pCluster + ".workers", "-1 is out of range, want 0 to 10"}}},
		{"more than ten workers are rejected", baseCanary,
			func(c *Config) { c.Cluster.Workers = 11 },
			[]want{{pCluster + ".workers", "11 is out of range"}}},
		{"ten workers are accepted", baseCanary,
			func(c *Config) { c.Cluster.Workers = 10 }, nil},
		{"a negative ingress host port is rejected", baseCanary,
			func(c *Config) { c.Cluster.IngressHostPort = -1 },
			[]want{{pCluster + ".ingressHostPort", "-1 is out of range, want 1 to 65535"}}},
		{"an ingress host port above 65535 is rejected", baseCanary,
			func(c *Config) { c.Cluster.IngressHostPort = 65536 },
			[]want{{pCluster + ".ingressHostPort", "65536 is out of range, want 1 to 65535"}}},
		{"ingress host port 65535 is accepted", baseCanary,
			func(c *Config) { c.Cluster.IngressHostPort = 65535 }, nil},
		{"an ingress NodePort below 30000 is rejected", baseCanary,
			func(c *Config) { c.Cluster.IngressNodePort = 29999 },
			[]want{{pCluster + ".ingressNodePort", "29999 is out of range, want 30000 to 32767"}}},
		{"an ingress NodePort above 32767 is rejected", baseCanary,
			func(c *Config) { c.Cluster.IngressNodePort = 32768 },
			[]want{{pCluster + ".ingressNodePort", "32768 is out of range, want 30000 to 32767"}}},
		{"ingress NodePort 30000 is accepted", baseCanary,
			func(c *Config) { c.Cluster.IngressNodePort = 30000 }, nil},
		{"ingress NodePort 32767 is accepted", baseCanary,
			func(c *Config) { c.Cluster.IngressNodePort = 32767 }, nil},
		{"a kind cluster with a kubeconfig is rejected", baseCanary,
			func(c *Config) { c.Cluster.Kubeconfig = "/home/me/.kube/config" },
			[]want{{pCluster + ".kubeconfig", "kind clusters make their own kubeconfig"}}},
		{"a kind cluster with a kubeconfig context is rejected", baseCanary,
			func(c *Config) { c.Cluster.Context = "prod" },
			[]want{{pCluster + ".context", "set cluster.type to existing"}}},
		{"an existing cluster with a kind name is rejected", baseExisting,
			func(c *Config) { c.Cluster.Name = "lab" },
			[]want{{pCluster + ".name", "applies only to kind clusters, and cluster.type is existing"}}},
		{"an existing cluster with a node image is rejected", baseExisting,
			func(c *Config) { c.Cluster.NodeImage = "kindest/node:v1.37.0" },
			[]want{{pCluster + ".nodeImage", "applies only to kind clusters"}}},
		{"an existing cluster with workers is rejected", baseExisting,
			func(c *Config) { c.Cluster.Workers = 2 },
			[]want{{pCluster + ".workers", "applies only to kind clusters"}}},
		{"an ingress wait on a kind cluster is rejected", baseCanary,
			func(c *Config) { c.Cluster.IngressWaitSeconds = ptr(60) },
			[]want{{pCluster + ".ingressWaitSeconds", "applies only to existing clusters"}}},
		{"a negative ingress wait is rejected", baseExisting,
			func(c *Config) { c.Cluster.IngressWaitSeconds = ptr(-1) },
			[]want{{pCluster + ".ingressWaitSeconds", "-1 is out of range, want 0 to 3600"}}},
		{"an ingress wait over an hour is rejected", baseExisting,
			func(c *Config) { c.Cluster.IngressWaitSeconds = ptr(3601) },
			[]want{{pCluster + ".ingressWaitSeconds", "3601 is out of range, want 0 to 3600"}}},
		{"no ingress wait is accepted", baseExisting,
			func(c *Config) { c.Cluster.IngressWaitSeconds = ptr(0) }, nil},
		{"an unknown cluster type is rejected", baseExisting,
			func(c *Config) { c.Cluster.Type = "minikube" },
			[]want{{pCluster + ".type", `unknown cluster type "minikube", want kind or existing`}}},
		{"an ingress URL without a scheme is rejected", baseExisting,
			func(c *Config) { c.Cluster.IngressURL = "203.0.113.10" },
			[]want{{pCluster + ".ingressUrl", `"203.0.113.10" is not an http(s) URL`}}},
		{"an ingress URL of another scheme is rejected", baseExisting,
			func(c *Config) { c.Cluster.IngressURL = "ftp://203.0.113.10" },
			[]want{{pCluster + ".ingressUrl", "is not an http(s) URL"}}},
		{"http and https ingress URLs are accepted", baseExisting,
			func(c *Config) { c.Cluster.IngressURL = "https://203.0.113.10" }, nil},

		// validatePlatform.
		{"an unknown gateway Service type is rejected", baseExisting,
			func(c *Config) { c.Platform.Istio.GatewayServiceType = "Ingress" },
			[]want{{pGateway, `unknown Service type "Ingress", want NodePort, LoadBalancer or ClusterIP`}}},
		{"an unknown gateway Service type on kind is reported once", baseCanary,
			func(c *Config) { c.Platform.Istio.GatewayServiceType = "Ingress" },
			[]want{{pGateway, "unknown Service type"}}},
		{"a LoadBalancer gateway on kind is rejected", baseCanary,
			func(c *Config) { c.Platform.Istio.GatewayServiceType = "LoadBalancer" },
			[]want{{pGateway, "must be NodePort on kind"}}},
		{"a ClusterIP gateway on an existing cluster is accepted", baseExisting,
			func(c *Config) { c.Platform.Istio.GatewayServiceType = "ClusterIP" }, nil},
		{"a domain with capitals is rejected", baseCanary,
			func(c *Config) { c.Platform.Knative.Domain = "Example.com" },
			[]want{{pDomain, `"Example.com" is not a DNS name`}}},
		{"a domain with an empty label is rejected", baseCanary,
			func(c *Config) { c.Platform.Knative.Domain = "example..com" },
			[]want{{pDomain, "is not a DNS name"}}},
		{"a domain longer than 253 characters is rejected", baseCanary,
			func(c *Config) { c.Platform.Knative.Domain = strings.Repeat("a.", 127) + "com" },
			[]want{{pDomain, "is not a DNS name"}}},
		{"an empty skip-tag-resolution registry is rejected", baseCanary,
			func(c *Config) { c.Platform.Knative.SkipTagResolution = []string{"kind.local", ""} },
			[]want{{"modelrollouts:platform.knative.skipTagResolution[1]", "must not be empty"}}},

		// validateCanary.
		{"a canary service that is not a DNS label is rejected", baseCanary,
			func(c *Config) { c.Canary.Service = "Model" },
			[]want{{pCanary + ".service", `"Model" is not a DNS-1035 label`}}},
		{"a canary without versions is rejected", baseCanary,
			func(c *Config) { c.Canary.Versions = nil },
			[]want{{pCanary + ".versions", "at least one version is required"}}},
		{"a version without a percent is rejected, and the sum is not checked", baseCanary,
			func(c *Config) { c.Canary.Versions[1].Percent = nil },
			[]want{{canaryV(1, "percent"), "required: the version's share of traffic"}}},
		{"a negative percent is rejected, and the sum is not checked", baseCanary,
			func(c *Config) { c.Canary.Versions[1].Percent = ptr(-10) },
			[]want{{canaryV(1, "percent"), "-10 is out of range, want 0 to 100"}}},
		{"a percent above 100 is rejected, and the sum is not checked", baseCanary,
			func(c *Config) { c.Canary.Versions[1].Percent = ptr(101) },
			[]want{{canaryV(1, "percent"), "101 is out of range"}}},
		{"percents summing to 90 are rejected", baseCanary,
			func(c *Config) { c.Canary.Versions[0].Percent = ptr(80) },
			[]want{{pCanary + ".versions", "percents sum to 90, want 100"}}},
		{"percents summing to 110 are rejected", baseCanary,
			func(c *Config) { c.Canary.Versions[1].Percent = ptr(20) },
			[]want{{pCanary + ".versions", "percents sum to 110, want 100"}}},
		{"a version at 0 percent beside one at 100 is accepted", baseCanary,
			func(c *Config) { c.Canary.Versions[0].Percent = ptr(100); c.Canary.Versions[1].Percent = ptr(0) }, nil},
		{"a tag that is not a DNS label is rejected", baseCanary,
			func(c *Config) { c.Canary.Versions[1].Tag = "V_2" },
			[]want{{canaryV(1, "tag"), `"V_2" is not a DNS-1035 label`}}},
		{"two versions with the same tag are rejected", baseCanary,
			func(c *Config) { c.Canary.Versions[0].Tag = "latest"; c.Canary.Versions[1].Tag = "latest" },
			[]want{{canaryV(1, "tag"), `"latest" is already the tag of versions[0]`}}},
		{"a tag equal to another version's name, its default tag, is rejected", baseCanary,
			func(c *Config) { c.Canary.Versions[0].Tag = "v2" },
			[]want{{canaryV(1, "tag"), `"v2" is already the tag of versions[0]`}}},
		{"a tag and service making a host label over 63 characters are rejected", baseCanary,
			func(c *Config) { c.Canary.Versions[1].Tag = strings.Repeat("t", 58) }, // 58+1+len("model") = 64
			[]want{{canaryV(1, "tag"), "64 characters, want at most 63"}}},
		{"a tag and service making a host label of exactly 63 characters are accepted", baseCanary,
			func(c *Config) { c.Canary.Versions[1].Tag = strings.Repeat("t", 57) }, nil},
		{"a long service name beside unset tags is reported at the names the tags default to", baseCanary,
			func(c *Config) { c.Canary.Service = strings.Repeat("s", 61) }, // 2+1+61 = 64
			[]want{{canaryV(0, "name"), "64 characters, want at most 63"}, {canaryV(1, "name"), "64 characters, want at most 63"}}},

		// validateScale.
		{"a negative minScale is rejected", baseCanary,
			func(c *Config) { c.Canary.Versions[0].MinScale = ptr(-1) },
			[]want{{canaryV(0, "minScale"), "-1 is out of range, want 0 or more"}}},
		{"a negative maxScale is rejected", baseCanary,
			func(c *Config) { c.Canary.Versions[1].MaxScale = ptr(-2) },
			[]want{{canaryV(1, "maxScale"), "-2 is out of range, want 0 or more"}}},
		{"a negative initialScale is rejected", baseCanary,
			func(c *Config) { c.Canary.Versions[1].InitialScale = ptr(-3) },
			[]want{{canaryV(1, "initialScale"), "-3 is out of range, want 0 or more"}}},
		{"a minScale above maxScale is rejected", baseCanary,
			func(c *Config) { c.Canary.Versions[0].MinScale = ptr(3); c.Canary.Versions[0].MaxScale = ptr(2) },
			[]want{{canaryV(0, "minScale"), "3 is above maxScale 2, want 0 to 2"}}},
		{"a minScale with an unlimited maxScale of 0 is accepted", baseCanary,
			func(c *Config) { c.Canary.Versions[0].MinScale = ptr(3); c.Canary.Versions[0].MaxScale = ptr(0) }, nil},

		// validateShadow.
		{"a shadow service that is not a DNS label is rejected", baseShadow,
			func(c *Config) { c.Shadow.Service = "Model"; c.Shadow.Host = "model.example.com" },
			[]want{{pShadow + ".service", `"Model" is not a DNS-1035 label`}}},
		{"a shadow host that is not a DNS name is rejected", baseShadow,
			func(c *Config) { c.Shadow.Host = "model_1.example.com" },
			[]want{{pShadow + ".host", `"model_1.example.com" is not a DNS name`}}},
		{"a missing mirror percent is rejected", baseShadow,
			func(c *Config) { c.Shadow.MirrorPercent = nil },
			[]want{{pShadow + ".mirrorPercent", "required: the share of requests copied to the shadow"}}},
		{"a negative mirror percent is rejected", baseShadow,
			func(c *Config) { c.Shadow.MirrorPercent = ptr(-1.0) },
			[]want{{pShadow + ".mirrorPercent", "-1 is out of range, want 0 to 100"}}},
		{"a mirror percent above 100 is rejected", baseShadow,
			func(c *Config) { c.Shadow.MirrorPercent = ptr(100.5) },
			[]want{{pShadow + ".mirrorPercent", "100.5 is out of range"}}},
		{"a mirror percent of 0 is accepted", baseShadow,
			func(c *Config) { c.Shadow.MirrorPercent = ptr(0.0) }, nil},
		{"a mirror percent of 100 is accepted", baseShadow,
			func(c *Config) { c.Shadow.MirrorPercent = ptr(100.0) }, nil},
		{"an unknown role is rejected", baseShadow,
			func(c *Config) {
				c.Shadow.Versions = append(c.Shadow.Versions, ShadowVersion{
					ModelSettings: ModelSettings{Name: "v3", Target: "model v3"}, Role: "mirror"})
			},
			[]want{{shadowV(2, "role"), `unknown role "mirror", want primary or shadow`}}},
		{"zero replicas are rejected", baseShadow,
			func(c *Config) { c.Shadow.Versions[1].Replicas = ptr(0) },
			[]want{{shadowV(1, "replicas"), "0 is out of range, want 1 or more"}}},
		{"no primary is rejected", baseShadow,
			func(c *Config) { c.Shadow.Versions = c.Shadow.Versions[1:] },
			[]want{{pShadow + ".versions", "has 0 primary versions, want exactly 1"}}},
		{"two primaries are rejected", baseShadow,
			func(c *Config) {
				c.Shadow.Versions = append(c.Shadow.Versions, ShadowVersion{
					ModelSettings: ModelSettings{Name: "v3", Target: "model v3"}, Role: RolePrimary})
			},
			[]want{{pShadow + ".versions", "has 2 primary versions, want exactly 1"}}},
		{"no shadow is rejected", baseShadow,
			func(c *Config) { c.Shadow.Versions = c.Shadow.Versions[:1] },
			[]want{{pShadow + ".versions", "has 0 shadow versions, want exactly 1"}}},
		{"a shadow as a primary leaves no shadow and two primaries", baseShadow,
			func(c *Config) { c.Shadow.Versions[1].Role = RolePrimary },
			[]want{{pShadow + ".versions", "has 2 primary versions"}, {pShadow + ".versions", "has 0 shadow versions"}}},

		// validateModel (through both strategies).
		{"a version without a name is rejected", baseCanary,
			func(c *Config) { c.Canary.Versions[1].Name = "" },
			[]want{{canaryV(1, "name"), "required: a DNS-1123 label such as v1"}}},
		{"a version name that is not a DNS label is rejected", baseShadow,
			func(c *Config) { c.Shadow.Versions[1].Name = "V2" },
			[]want{{shadowV(1, "name"), `"V2" is not a DNS-1123 label`}}},
		{"a canary version name that is not a DNS label is not blamed on the tag it defaults", baseCanary,
			func(c *Config) { c.Canary.Versions[1].Name = "V2" },
			[]want{{canaryV(1, "name"), `"V2" is not a DNS-1123 label`}}},
		{"a canary tag set to a bad label is rejected at the tag", baseCanary,
			func(c *Config) { c.Canary.Versions[1].Tag = "Next" },
			[]want{{canaryV(1, "tag"), `"Next" is not a DNS-1035 label`}}},
		{"two shadow versions with the same name are rejected", baseShadow,
			func(c *Config) { c.Shadow.Versions[1].Name = "v1" },
			[]want{{shadowV(1, "name"), `"v1" is already the name of versions[0]`}}},
		{"two canary versions with the same name and own tags are rejected", baseCanary,
			func(c *Config) { c.Canary.Versions[1].Name = "v1"; c.Canary.Versions[1].Tag = "next" },
			[]want{{canaryV(1, "name"), `"v1" is already the name of versions[0]`}}},
		{"two canary versions with the same name are not blamed on the tags they default", baseCanary,
			func(c *Config) { c.Canary.Versions[1].Name = "v1" },
			[]want{{canaryV(1, "name"), "already the name of versions[0]"}}},
		{"a shadow host derived from a bad service name is reported at the service only", baseShadow,
			func(c *Config) { c.Shadow.Service = "Model"; c.Shadow.Host = "" },
			[]want{{pShadow + ".service", `"Model" is not a DNS-1035 label`}}},
		{"a version without a target is rejected", baseShadow,
			func(c *Config) { c.Shadow.Versions[0].Target = "" },
			[]want{{shadowV(0, "target"), "required: what the version answers (TARGET)"}}},
		{"a negative latency is rejected", baseCanary,
			func(c *Config) { c.Canary.Versions[1].LatencyMs = -5 },
			[]want{{canaryV(1, "latencyMs"), "-5 is out of range, want 0 to 600000"}}},
		{"a negative error rate is rejected", baseCanary,
			func(c *Config) { c.Canary.Versions[1].ErrorRate = -0.1 },
			[]want{{canaryV(1, "errorRate"), "-0.1 is out of range, want 0 to 1"}}},
		{"an error rate above 1 is rejected", baseShadow,
			func(c *Config) { c.Shadow.Versions[1].ErrorRate = 1.5 },
			[]want{{shadowV(1, "errorRate"), "1.5 is out of range"}}},
		{"a bad release with latency and an error rate of 1 is accepted", baseCanary,
			func(c *Config) { c.Canary.Versions[1].LatencyMs = 500; c.Canary.Versions[1].ErrorRate = 1 }, nil},
		{"a reserved env name is rejected", baseCanary,
			func(c *Config) { c.Canary.Versions[0].Env = map[string]string{"TARGET": "x", "LOG_LEVEL": "debug"} },
			[]want{{canaryV(0, "env.TARGET"), "is set by the program from the version's fields"}}},
		{"every reserved env name is rejected at its own path", baseShadow,
			func(c *Config) {
				c.Shadow.Versions[1].Env = map[string]string{"MODEL_VERSION": "x", "MODEL_NAME": "x", "MODEL_BIAS": "x", "LATENCY_MS": "x", "ERROR_RATE": "x", "PORT": "x"}
			},
			[]want{
				{shadowV(1, "env.MODEL_VERSION"), "is set by the program"},
				{shadowV(1, "env.MODEL_NAME"), "is set by the program"},
				{shadowV(1, "env.MODEL_BIAS"), "is set by the program"},
				{shadowV(1, "env.LATENCY_MS"), "is set by the program"},
				{shadowV(1, "env.ERROR_RATE"), "is set by the program"},
				{shadowV(1, "env.PORT"), "is set by the program"},
			}},
		{"payload env names are set from payloadLog and loggerUrl, not env", baseShadow,
			func(c *Config) {
				c.Shadow.Versions[0].Env = map[string]string{"PAYLOAD_LOG": "true", "LOGGER_URL": "http://sink"}
			},
			[]want{
				{shadowV(0, "env.PAYLOAD_LOG"), "is set by the program"},
				{shadowV(0, "env.LOGGER_URL"), "is set by the program"},
			}},
		{"a loggerUrl that is not an http URL is rejected", baseShadow,
			func(c *Config) { c.Shadow.Versions[1].LoggerURL = "sink:8080" },
			[]want{{shadowV(1, "loggerUrl"), `"sink:8080" is not an http or https URL with a host`}}},
		{"a loggerUrl without payload logging is rejected", baseCanary,
			func(c *Config) { c.Canary.Versions[1].LoggerURL = "http://sink.default.svc" },
			[]want{{canaryV(1, "loggerUrl"), "payloadLog is not true"}}},
		{"a loggerUrl with payloadLog turned off on a shadow version is rejected", baseShadow,
			func(c *Config) {
				c.Shadow.Versions[1].PayloadLog = ptr(false)
				c.Shadow.Versions[1].LoggerURL = "https://sink"
			},
			[]want{{shadowV(1, "loggerUrl"), "payloadLog is not true"}}},
		{"a loggerUrl on a shadow version, where payloadLog defaults on, is accepted", baseShadow,
			func(c *Config) { c.Shadow.Versions[1].LoggerURL = "http://sink.default.svc:8080/events" }, nil},

		// validateImage.
		{"building and a ref together are rejected", baseCanary,
			func(c *Config) { c.Image.Build = ptr(true); c.Image.Ref = "ghcr.io/example/model-echo:1.0.0" },
			[]want{{pImage + ".ref", "set either ref or build, not both"}}},
		{"a ref on kind deploys the published image without building", baseCanary,
			func(c *Config) { c.Image.Ref = "ghcr.io/example/model-echo:1.0.0" }, nil},
		{"a built repository outside the skip-tag-resolution registries on kind is rejected", baseCanary,
			func(c *Config) { c.Image.Repository = "ghcr.io/example/model-echo" },
			[]want{{pImage + ".repository", `"ghcr.io/example/model-echo" is not in a registry Knative skips tag resolution for (kind.local, ko.local, dev.local)`}}},
		{"a built repository in dev.local on kind is accepted", baseCanary,
			func(c *Config) { c.Image.Repository = "dev.local/model-echo" }, nil},
		{"a built repository in a user-listed skip registry on kind is accepted", baseCanary,
			func(c *Config) {
				c.Image.Repository = "registry.lab/model-echo"
				c.Platform.Knative.SkipTagResolution = []string{"registry.lab"}
			}, nil},
		{"building for an existing cluster without pushing is rejected", baseExisting,
			func(c *Config) { c.Image.Ref = ""; c.Image.Build = ptr(true) },
			[]want{{pImage + ".push", "an existing cluster cannot see a local image"}}},
		{"pushing without a registry is rejected", baseExisting,
			func(c *Config) { c.Image.Ref = ""; c.Image.Push = true },
			[]want{{pImage + ".registry.server", "required to push the image"}}},
		{"pushing to a registry without a server is rejected", baseExisting,
			func(c *Config) {
				c.Image.Ref = ""
				c.Image.Push = true
				c.Image.Registry = &RegistryConfig{Username: "me", Password: "secret"}
			},
			[]want{{pImage + ".registry.server", "required to push the image"}}},
		{"pushing to a registry with a server is accepted", baseExisting,
			func(c *Config) {
				c.Image.Ref = ""
				c.Image.Push = true
				c.Image.Repository = "ghcr.io/example/model-echo"
				c.Image.Registry = &RegistryConfig{Server: "ghcr.io", Username: "me", Password: "secret"}
			}, nil},
		{"pushing and a ref together are rejected", baseExisting,
			func(c *Config) {
				c.Image.Push = true
				c.Image.Registry = &RegistryConfig{Server: "ghcr.io"}
			},
			[]want{{pImage + ".ref", "set either ref or build, not both"}}},
		{"an existing cluster without an image ref is rejected", baseExisting,
			func(c *Config) { c.Image.Ref = "" },
			[]want{{pImage + ".ref", "required: nothing builds the model image"}}},
		{"an existing cluster without a ref is accepted when every version has an image", baseExisting,
			func(c *Config) {
				c.Image.Ref = ""
				c.Canary.Versions[0].Image = "ghcr.io/example/model-echo:1.0.0"
				c.Canary.Versions[1].Image = "ghcr.io/example/model-echo:1.1.0"
			}, nil},
		{"an existing cluster without a ref is rejected when one version has no image", baseExisting,
			func(c *Config) { c.Image.Ref = ""; c.Canary.Versions[0].Image = "ghcr.io/example/model-echo:1.0.0" },
			[]want{{pImage + ".ref", "or an image on every version"}}},
		{"an existing shadow stack without a ref is accepted when every version has an image", baseShadow,
			func(c *Config) {
				c.Cluster = ClusterConfig{Type: ClusterExisting}
				c.Shadow.Versions[0].Image = "ghcr.io/example/model-echo:1.0.0"
				c.Shadow.Versions[1].Image = "ghcr.io/example/model-echo:1.1.0"
			}, nil},
		// Routing switches.
		{"shadow routing binds to the gateway and the mesh by default", baseShadow,
			func(c *Config) {}, nil},
		{"shadow routing may bind to the mesh only", baseShadow,
			func(c *Config) { c.Shadow.BindTo = BindMesh; c.Shadow.HeaderRouting = true }, nil},
		{"an unknown shadow binding is rejected", baseShadow,
			func(c *Config) { c.Shadow.BindTo = "sidecar" },
			[]want{{pShadow + ".bindTo", `unknown binding "sidecar", want gateway, mesh or both`}}},
		{"canary header routing on an installed Knative is accepted", baseCanary,
			func(c *Config) { c.Canary.HeaderRouting = true }, nil},
		{"canary header routing on a Knative this stack does not install is rejected", baseCanary,
			func(c *Config) { c.Canary.HeaderRouting = true; c.Platform.Knative.Install = ptr(false) },
			[]want{{pCanary + ".headerRouting", "needs platform.knative.install"}}},
		{"images on the inactive strategy's versions do not stand in for a ref", baseExisting,
			func(c *Config) {
				c.Image.Ref = ""
				c.Strategy = StrategyShadow
				c.Shadow = baseShadow().Shadow
				for i := range c.Canary.Versions {
					c.Canary.Versions[i].Image = "ghcr.io/example/model-echo:1.0.0"
				}
			},
			[]want{{pCanary, "applies only when strategy is canary, and strategy is shadow"},
				{pImage + ".ref", "required: nothing builds the model image"}}},
		{"the block of a strategy the stack does not use is reported at its key", baseCanary,
			func(c *Config) { c.Shadow = baseShadow().Shadow },
			[]want{{pShadow, "applies only when strategy is shadow, and strategy is canary: remove the block or change strategy"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.base()
			tt.mutate(c)
			assertProblems(t, validationErrors(t, c), tt.want)
		})
	}
}

func TestValidateReportsEveryProblemAtOnce(t *testing.T) {
	c := baseCanary()
	c.Namespace = "Bad_NS"
	c.Cluster.IngressNodePort = 80
	c.Platform.Knative.Domain = "-example.com"
	c.Canary.Versions[0].Percent = ptr(50) // sum 60
	c.Canary.Versions[1].Name = "v1"
	c.Canary.Versions[1].Tag = "next"
	c.Canary.Versions[1].ErrorRate = 2
	c.Image.Repository = "docker.io/me/model-echo"
	c.SetDefaults()

	err := c.Validate()
	if err == nil {
		t.Fatal("Validate accepted a config with seven problems")
	}
	errs := err.Problems()
	wants := []want{
		{pCluster + ".ingressNodePort", "80 is out of range, want 30000 to 32767"},
		{pDomain, `"-example.com" is not a DNS name`},
		{pNamespace, `"Bad_NS" is not a DNS-1123 label`},
		{canaryV(1, "name"), "already the name of versions[0]"},
		{canaryV(1, "errorRate"), "2 is out of range"},
		{pCanary + ".versions", "percents sum to 60, want 100"},
		{pImage + ".repository", "is not in a registry Knative skips tag resolution for"},
	}
	assertProblems(t, errs, wants)

	t.Run("the message counts the problems and lists one per line with its path", func(t *testing.T) {
		lines := strings.Split(err.Error(), "\n")
		if lines[0] != "invalid stack config (7 problems):" {
			t.Errorf("first line = %q, want the problem count", lines[0])
		}
		if len(lines) != 1+len(errs) {
			t.Fatalf("got %d lines, want a header and %d problems:\n%s", len(lines), len(errs), err)
		}
		for i, e := range errs {
			if want := "  " + e.Path + ": " + e.Message; lines[i+1] != want {
				t.Errorf("line %d = %q, want %q", i+1, lines[i+1], want)
			}
		}
		for _, w := range wants {
			if !strings.Contains(err.Error(), "\n  "+w.path+": ") {
				t.Errorf("message does not list %s:\n%s", w.path, err)
			}
		}
	})
	t.Run("problems come in config order: cluster, platform, namespace, strategy, image", func(t *testing.T) {
		var paths []string
		for _, e := range errs {
			paths = append(paths, e.Path)
		}
		wantOrder := []string{
			pCluster + ".ingressNodePort", pDomain, pNamespace,
			canaryV(1, "name"), canaryV(1, "errorRate"), pCanary + ".versions",
			pImage + ".repository",
		}
		if !reflect.DeepEqual(paths, wantOrder) {
			t.Errorf("paths = %q, want %q", paths, wantOrder)
		}
	})
}

func TestFieldErrorMessage(t *testing.T) {
	tests := []struct {
		name string
		errs *FieldError
		want string
	}{
		{"one problem is singular",
			ErrGeneric("bad", key("namespace")),
			"invalid stack config (1 problem):\n  modelrollouts:namespace: bad"},
		{"two problems are plural, one per line, in the order found",
			ErrGeneric("x", key("a")).Also(ErrGeneric("y", CurrentField).ViaFieldIndex("c", 0).ViaField(key("b"))),
			"invalid stack config (2 problems):\n  modelrollouts:a: x\n  modelrollouts:b.c[0]: y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.errs.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("a problem reads path colon message", func(t *testing.T) {
		p := ErrMissingField("percent", "a share").ViaFieldIndex("versions", 1).ViaField(key("canary")).Problems()[0]
		if got, want := p.Error(), "modelrollouts:canary.versions[1].percent: required: a share"; got != want {
			t.Errorf("Error() = %q, want %q", got, want)
		}
	})
	t.Run("a nil FieldError has no problems and Also of nothing is nil", func(t *testing.T) {
		var fe *FieldError
		if fe.Problems() != nil || fe.Also(nil, nil) != nil || fe.ViaField("x") != nil || fe.ViaIndex(1) != nil {
			t.Error("a nil FieldError grew problems")
		}
	})
	t.Run("Via calls do not change the error they are called on", func(t *testing.T) {
		inner := ErrGeneric("bad", "name")
		_ = inner.ViaFieldIndex("versions", 0)
		if got := inner.Problems()[0].Path; got != "name" {
			t.Errorf("inner path = %q after ViaField, want name", got)
		}
	})
	t.Run("the vocabulary says what is wrong and what is wanted", func(t *testing.T) {
		for _, tt := range []struct {
			fe   *FieldError
			want string
		}{
			{ErrMissingField("f", "a name such as v1"), "required: a name such as v1"},
			{ErrInvalidValue("V2", "f", "a DNS-1123 label"), `"V2" is not a DNS-1123 label`},
			{ErrUnknownValue("mirror", "f", "role", "primary", "shadow"), `unknown role "mirror", want primary or shadow`},
			{ErrUnknownValue("x", "f", "type", "a", "b", "c"), `unknown type "x", want a, b or c`},
			{ErrOutOfBoundsValue(101, 0, 100, "f"), "101 is out of range, want 0 to 100"},
			{ErrBelowMinimum(-1, 0, "f"), "-1 is out of range, want 0 or more"},
			{ErrUnknownField("percnt", []string{"name", "percent"}), "unknown field, want one of name, percent"},
			{ErrDuplicateValue("v1", "f", "name", 0), `"v1" is already the name of versions[0]`},
		} {
			if got := tt.fe.Problems()[0].Message; got != tt.want {
				t.Errorf("message = %q, want %q", got, tt.want)
			}
		}
	})
}
