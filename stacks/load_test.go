package stacks

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// loadYAML loads a stack file's text the way LoadFile does.
func loadYAML(t *testing.T, text string) (*Config, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "Pulumi.test.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return LoadFile(path)
}

// fieldErrors unwraps err into its problems, failing if it has none.
func fieldErrors(t *testing.T, err error) []Problem {
	t.Helper()
	if err == nil {
		t.Fatal("got no error, want stack config problems")
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %q (%T) does not wrap a *FieldError", err, err)
	}
	if len(fe.Problems()) == 0 {
		t.Fatalf("error %q has no problems", err)
	}
	return fe.Problems()
}

func mustLoadFile(t *testing.T, stack string) *Config {
	t.Helper()
	c, err := LoadFile(filepath.Join("..", "Pulumi."+stack+".yaml"))
	if err != nil {
		t.Fatalf("Pulumi.%s.yaml: %v", stack, err)
	}
	return c
}

func checkEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

func TestLoadDevStack(t *testing.T) {
	c := mustLoadFile(t, "dev")

	checkEqual(t, "strategy", c.Strategy, StrategyCanary)
	checkEqual(t, "namespace", c.Namespace, DefaultNamespace)
	checkEqual(t, "shadow", c.Shadow, (*ShadowConfig)(nil))

	t.Run("the kind cluster gets its name and every kind default", func(t *testing.T) {
		checkEqual(t, "cluster", c.Cluster, ClusterConfig{
			Type:            ClusterKind,
			Name:            "modelrollouts-dev",
			NodeImage:       DefaultKindNodeImage,
			IngressHostPort: 8080,
			IngressNodePort: 31080,
			ListenAddress:   "127.0.0.1",
		})
	})
	t.Run("the platform is installed at the pinned versions with a NodePort gateway", func(t *testing.T) {
		istio := c.Platform.Istio
		checkEqual(t, "istio.install", *istio.Install, true)
		checkEqual(t, "istio.version", istio.Version, DefaultIstioVersion)
		checkEqual(t, "istio.chartRepo", istio.ChartRepo, DefaultIstioRepo)
		checkEqual(t, "istio.gatewayServiceType", istio.GatewayServiceType, "NodePort")
		kn := c.Platform.Knative
		checkEqual(t, "knative.install", *kn.Install, true)
		checkEqual(t, "knative.version", kn.Version, "1.24.0")
		checkEqual(t, "knative.domain", kn.Domain, "example.com")
		checkEqual(t, "knative.scaleToZero", *kn.ScaleToZero, true)
		checkEqual(t, "knative.skipTagResolution", kn.SkipTagResolution, []string{"kind.local", "ko.local", "dev.local"})
		checkEqual(t, "knative.crdManifests", kn.CRDManifests,
			[]string{"https://github.com/knative/serving/releases/download/knative-v1.24.0/serving-crds.yaml"})
		checkEqual(t, "knative.coreManifests", kn.CoreManifests,
			[]string{"https://github.com/knative/serving/releases/download/knative-v1.24.0/serving-core.yaml"})
		checkEqual(t, "knative.netIstioManifests", kn.NetIstioManifests,
			[]string{"https://github.com/knative/net-istio/releases/download/knative-v1.24.0/net-istio.yaml"})
	})
	t.Run("the image is built into kind.local", func(t *testing.T) {
		checkEqual(t, "image.build", *c.Image.Build, true)
		checkEqual(t, "image.repository", c.Image.Repository, "kind.local/model-echo")
		checkEqual(t, "image.context", c.Image.Context, ".")
		checkEqual(t, "image.dockerfile", c.Image.Dockerfile, "model-echo/Dockerfile")
		checkEqual(t, "image.ref", c.Image.Ref, "")
	})
	t.Run("the canary splits 90/10 and tags each version with its name", func(t *testing.T) {
		cn := c.Canary
		if cn == nil {
			t.Fatal("canary is nil")
		}
		checkEqual(t, "canary.service", cn.Service, "model")
		checkEqual(t, "canary.waitForReady", *cn.WaitForReady, true)
		checkEqual(t, "canary.versions", cn.Versions, []CanaryVersion{
			{ModelSettings: ModelSettings{Name: "v1", Target: "model v1"}, Percent: ptr(90), Tag: "v1", MinScale: ptr(1)},
			{ModelSettings: ModelSettings{Name: "v2", Target: "model v2", Bias: 0.5}, Percent: ptr(10), Tag: "v2"},
		})
	})
}

func TestLoadShadowStack(t *testing.T) {
	c := mustLoadFile(t, "shadow")

	checkEqual(t, "strategy", c.Strategy, StrategyShadow)
	checkEqual(t, "canary", c.Canary, (*CanaryConfig)(nil))
	checkEqual(t, "cluster.name", c.Cluster.Name, "modelrollouts-shadow")
	checkEqual(t, "cluster.ingressHostPort", c.Cluster.IngressHostPort, 8081)
	checkEqual(t, "cluster.ingressNodePort", c.Cluster.IngressNodePort, DefaultIngressNodePort)
	checkEqual(t, "cluster.nodeImage", c.Cluster.NodeImage, DefaultKindNodeImage)
	checkEqual(t, "platform.knative.domain", c.Platform.Knative.Domain, "example.com")
	checkEqual(t, "image.build", *c.Image.Build, true)

	sh := c.Shadow
	if sh == nil {
		t.Fatal("shadow is nil")
	}
	checkEqual(t, "shadow.service", sh.Service, "model")
	checkEqual(t, "shadow.host", sh.Host, "model.example.com")
	checkEqual(t, "shadow.mirrorPercent", *sh.MirrorPercent, 50.0)
	checkEqual(t, "shadow.bindTo", sh.BindTo, BindBoth)
	checkEqual(t, "shadow.headerRouting", sh.HeaderRouting, false)
	t.Run("the versions have their roles, one replica each by default, and log payloads", func(t *testing.T) {
		checkEqual(t, "shadow.versions", sh.Versions, []ShadowVersion{
			{ModelSettings: ModelSettings{Name: "v1", Target: "model v1", PayloadLog: ptr(true)}, Role: RolePrimary, Replicas: ptr(1)},
			{ModelSettings: ModelSettings{Name: "v2", Target: "model v2", Bias: 0.5, PayloadLog: ptr(true)}, Role: RoleShadow, Replicas: ptr(1)},
		})
	})
}

// Shadow versions log payload events unless told not to (the shadow
// report is made from them); canary versions only when asked.
func TestPayloadLogDefaultsOnForShadowVersionsOnly(t *testing.T) {
	load := func(yaml string) *Config {
		t.Helper()
		values, err := ParseStackFile([]byte(yaml))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(func(name string) (string, bool) { v, ok := values[name]; return v, ok })
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	sh := load(`config:
  modelrollouts:strategy: shadow
  modelrollouts:shadow:
    mirrorPercent: 10
    versions:
      - {name: v1, role: primary, target: a}
      - {name: v2, role: shadow, target: b, payloadLog: "false"}
`).Shadow
	if !*sh.Versions[0].PayloadLog || *sh.Versions[1].PayloadLog {
		t.Errorf("shadow: payloadLog %v, %v; want the default true, and false as set (typed as a string by pulumi config set --path)",
			*sh.Versions[0].PayloadLog, *sh.Versions[1].PayloadLog)
	}
	cn := load(`config:
  modelrollouts:strategy: canary
  modelrollouts:canary:
    versions:
      - {name: v1, target: a, percent: 100}
      - {name: v2, target: b, percent: 0, payloadLog: true, loggerUrl: "http://sink.default.svc/events"}
`).Canary
	if cn.Versions[0].PayloadLog != nil || !*cn.Versions[1].PayloadLog || cn.Versions[1].LoggerURL != "http://sink.default.svc/events" {
		t.Errorf("canary: payloadLog %v, %v, loggerUrl %q", cn.Versions[0].PayloadLog, cn.Versions[1].PayloadLog, cn.Versions[1].LoggerURL)
	}
}

func TestLoadCloudStack(t *testing.T) {
	c := mustLoadFile(t, "cloud")

	checkEqual(t, "strategy", c.Strategy, StrategyCanary)
	t.Run("the existing cluster gets no kind defaults", func(t *testing.T) {
		checkEqual(t, "cluster", c.Cluster, ClusterConfig{Type: ClusterExisting, Context: "my-cloud-cluster", IngressWaitSeconds: ptr(DefaultIngressWaitSeconds)})
	})
	checkEqual(t, "istio.gatewayServiceType", c.Platform.Istio.GatewayServiceType, "LoadBalancer")
	checkEqual(t, "knative.domain", c.Platform.Knative.Domain, "models.example.org")
	checkEqual(t, "knative.skipTagResolution", c.Platform.Knative.SkipTagResolution, DefaultSkipTagResolution)
	t.Run("the published image is deployed and nothing is built", func(t *testing.T) {
		checkEqual(t, "image.ref", c.Image.Ref, "ghcr.io/example/model-echo:1.0.0")
		checkEqual(t, "image.build", *c.Image.Build, false)
		checkEqual(t, "image.push", c.Image.Push, false)
	})
	checkEqual(t, "canary.versions", c.Canary.Versions, []CanaryVersion{
		{ModelSettings: ModelSettings{Name: "v1", Target: "model v1"}, Percent: ptr(80), Tag: "v1", MinScale: ptr(2)},
		{ModelSettings: ModelSettings{Name: "v2", Target: "model v2"}, Percent: ptr(20), Tag: "v2"},
	})
}

func TestLoadDefaultsTheImageBuild(t *testing.T) {
	tests := []struct {
		name  string
		extra string
		build bool
	}{
		{"kind builds the image by default", "", true},
		{"a ref on kind builds nothing", "  modelrollouts:image:\n    ref: ghcr.io/example/model-echo:1.0.0\n", false},
		{"an explicit build false on kind builds nothing", "  modelrollouts:image:\n    build: false\n    ref: ghcr.io/example/model-echo:1.0.0\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadYAML(t, minimalCanaryYAML+tt.extra)
			if err != nil {
				t.Fatal(err)
			}
			checkEqual(t, "image.build", *c.Image.Build, tt.build)
		})
	}
}

// minimalCanaryYAML is the smallest valid stack file: everything else
// defaults (a kind cluster, a built image).
const minimalCanaryYAML = `config:
  modelrollouts:strategy: canary
  modelrollouts:canary:
    versions:
      - name: v1
        target: model v1
        percent: 100
`

func TestLoadMinimalStackFillsDefaults(t *testing.T) {
	c, err := loadYAML(t, minimalCanaryYAML)
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "cluster.type", c.Cluster.Type, ClusterKind)
	checkEqual(t, "cluster.name", c.Cluster.Name, DefaultClusterName)
	checkEqual(t, "namespace", c.Namespace, "models")
	checkEqual(t, "canary.service", c.Canary.Service, "model")
	checkEqual(t, "canary.versions[0].tag", c.Canary.Versions[0].Tag, "v1")
}

func TestLoadReportsDecodeProblemsAtTheirPath(t *testing.T) {
	versionFields := "agent, bias, env, errorRate, image, initialScale, latencyMs, loggerUrl, maxScale, minScale, name, payloadLog, percent, port, readinessPath, tag, target"
	tests := []struct {
		name string
		yaml string
		want []want
	}{
		{"a typo in a version field is an unknown field with the known ones listed", `config:
  modelrollouts:strategy: canary
  modelrollouts:canary:
    versions:
      - name: v1
        target: model v1
        percnt: 100
`, []want{{"modelrollouts:canary.versions[0].percnt", "unknown field, want one of " + versionFields}}},
		{"a typo in a cluster field lists the cluster fields", `config:
  modelrollouts:cluster:
    typ: kind
`, []want{{"modelrollouts:cluster.typ", "unknown field, want one of context, ingressHostPort, ingressNodePort, ingressUrl, ingressWaitSeconds, kubeconfig, listenAddress, name, nodeImage, type, workers"}}},
		{"a word for a percent is not a whole number", `config:
  modelrollouts:canary:
    versions:
      - name: v1
        percent: "ninety"
`, []want{{"modelrollouts:canary.versions[0].percent", `must be a whole number, got "ninety"`}}},
		{"a fractional percent is not a whole number", `config:
  modelrollouts:canary:
    versions:
      - name: v1
        percent: 12.5
`, []want{{"modelrollouts:canary.versions[0].percent", "must be a whole number, got 12.5"}}},
		{"a list where the cluster object belongs is rejected", `config:
  modelrollouts:cluster:
    - type: kind
`, []want{{"modelrollouts:cluster", "must be an object, got a list"}}},
		{"a list where a version object belongs is rejected", `config:
  modelrollouts:canary:
    versions:
      - - name: v1
`, []want{{"modelrollouts:canary.versions[0]", "must be an object, got a list"}}},
		{"an object where the versions list belongs is rejected", `config:
  modelrollouts:canary:
    versions:
      name: v1
`, []want{{"modelrollouts:canary.versions", "must be a list, got an object"}}},
		{"a string where a boolean belongs is rejected", `config:
  modelrollouts:image:
    build: "yes"
`, []want{{"modelrollouts:image.build", `must be true or false, got "yes"`}}},
		{"a string mirror percent is not a number", `config:
  modelrollouts:shadow:
    mirrorPercent: half
`, []want{{"modelrollouts:shadow.mirrorPercent", `must be a number, got "half"`}}},
		{"a list where an env string belongs is rejected", `config:
  modelrollouts:canary:
    versions:
      - name: v1
        env:
          WORKERS: [4]
`, []want{{"modelrollouts:canary.versions[0].env.WORKERS", "must be a string, got a list"}}},
		{"an object where env belongs is rejected", `config:
  modelrollouts:shadow:
    versions:
      - env: [A]
`, []want{{"modelrollouts:shadow.versions[0].env", "must be an object, got a list"}}},
		{"a number where a manifest list belongs is rejected", `config:
  modelrollouts:platform:
    knative:
      crdManifests: 3
`, []want{{"modelrollouts:platform.knative.crdManifests", "must be a list, got 3"}}},
		{"a null percent is a missing percent", `config:
  modelrollouts:strategy: canary
  modelrollouts:canary:
    versions:
      - name: v1
        target: model v1
        percent: null
`, []want{{"modelrollouts:canary.versions[0].percent", "required: the version's share of traffic"}}},
		{"a mapping with a non-string key cannot be encoded as JSON", `config:
  modelrollouts:canary:
    versions:
      - name: v1
        env:
          1: x
`, []want{{"modelrollouts:canary", "cannot be encoded"}}},
		{"problems in several keys are all reported at once", `config:
  modelrollouts:cluster:
    workers: two
  modelrollouts:canary:
    versions:
      - name: v1
        percnt: 50
      - name: 2
        percent: 50.5
  modelrollouts:image:
    push: 1
`, []want{
			{"modelrollouts:cluster.workers", `must be a whole number, got "two"`},
			{"modelrollouts:canary.versions[0].percnt", "unknown field"},
			{"modelrollouts:canary.versions[1].percent", "must be a whole number, got 50.5"},
			{"modelrollouts:image.push", "must be true or false, got 1"},
			{"modelrollouts:strategy", "required: canary or shadow"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadYAML(t, tt.yaml)
			// The files are fragments: validation problems of what they
			// leave out (no strategy, no target) are reported too.
			assertIncludes(t, fieldErrors(t, err), tt.want)
		})
	}
}

func TestParseStackFileKeys(t *testing.T) {
	t.Run("an unknown key of our namespace is reported with the known keys", func(t *testing.T) {
		_, err := ParseStackFile([]byte("config:\n  modelrollouts:strategy: canary\n  modelrollouts:stratgy: shadow\n"))
		assertProblems(t, fieldErrors(t, err), []want{{"modelrollouts:stratgy",
			"unknown key, want one of canary, cluster, image, namespace, platform, shadow, strategy"}})
	})
	t.Run("LoadFile reports an unknown key with the file's path", func(t *testing.T) {
		_, err := loadYAML(t, "config:\n  modelrollouts:canaries: {}\n")
		errs := fieldErrors(t, err)
		assertProblems(t, errs, []want{{"modelrollouts:canaries", "unknown key"}, {"modelrollouts:strategy", "required"}})
		if !strings.Contains(err.Error(), "Pulumi.test.yaml: ") {
			t.Errorf("error %q does not name the file", err)
		}
	})
	t.Run("keys of other namespaces are ignored", func(t *testing.T) {
		values, err := ParseStackFile([]byte(`config:
  kubernetes:context: kind-lab
  aws:region: eu-west-1
  pulumi:tags:
    team: ml
  modelrollouts:strategy: canary
`))
		if err != nil {
			t.Fatal(err)
		}
		checkEqual(t, "values", values, map[string]string{"strategy": "canary"})
	})
	t.Run("objects become JSON text and strings stay unquoted", func(t *testing.T) {
		values, err := ParseStackFile([]byte(`config:
  modelrollouts:namespace: lab
  modelrollouts:cluster:
    type: kind
    workers: 2
`))
		if err != nil {
			t.Fatal(err)
		}
		checkEqual(t, "namespace", values["namespace"], "lab")
		var cluster map[string]any
		if err := json.Unmarshal([]byte(values["cluster"]), &cluster); err != nil {
			t.Fatalf("cluster %q is not JSON: %v", values["cluster"], err)
		}
		checkEqual(t, "cluster", cluster, map[string]any{"type": "kind", "workers": 2.0})
	})
	t.Run("a file without config has no values", func(t *testing.T) {
		values, err := ParseStackFile([]byte("encryptionsalt: v1:abc\n"))
		if err != nil {
			t.Fatal(err)
		}
		if len(values) != 0 {
			t.Errorf("values = %v, want none", values)
		}
	})
	t.Run("text that is not YAML is a parse error", func(t *testing.T) {
		_, err := ParseStackFile([]byte("config: [\n"))
		if err == nil || !strings.Contains(err.Error(), "parse stack file") {
			t.Errorf("err = %v, want a parse error", err)
		}
	})
	t.Run("a missing file is a read error", func(t *testing.T) {
		_, err := LoadFile(filepath.Join(t.TempDir(), "Pulumi.none.yaml"))
		if err == nil || !strings.Contains(err.Error(), "read stack file") {
			t.Errorf("err = %v, want a read error", err)
		}
	})
}

func TestParseStackFileMasksSecrets(t *testing.T) {
	const file = `config:
  modelrollouts:strategy: canary
  modelrollouts:cluster:
    type: existing
  modelrollouts:image:
    push: true
    repository: ghcr.io/example/model-echo
    registry:
      server: ghcr.io
      username: me
      password:
        secure: v1:ZmFrZQ==:c2VjcmV0
  modelrollouts:canary:
    versions:
      - name: v1
        target: model v1
        percent: 100
        env:
          API_KEY:
            secure: v1:YWJj:ZGVm
          secure: not-a-secret
`
	values, err := ParseStackFile([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(values["image"], "v1:ZmFrZQ") || strings.Contains(values["canary"], "v1:YWJj") {
		t.Errorf("ciphertext leaked into values: %v", values)
	}

	c, err := loadYAML(t, file)
	if err != nil {
		t.Fatalf("a stack file with secrets does not load: %v", err)
	}
	t.Run("a nested secret becomes the placeholder", func(t *testing.T) {
		checkEqual(t, "image.registry", *c.Image.Registry, RegistryConfig{Server: "ghcr.io", Username: "me", Password: SecretPlaceholder})
		checkEqual(t, "placeholder", SecretPlaceholder, "[secret]")
	})
	t.Run("a secret in a map becomes the placeholder, a plain key named secure does not", func(t *testing.T) {
		checkEqual(t, "env", c.Canary.Versions[0].Env, map[string]string{"API_KEY": "[secret]", "secure": "not-a-secret"})
	})
	t.Run("an object with secure and other keys is not a secret", func(t *testing.T) {
		got := maskSecrets(map[string]any{"secure": "x", "other": "y"})
		checkEqual(t, "masked", got, any(map[string]any{"secure": "x", "other": "y"}))
	})
	t.Run("secrets in lists are masked", func(t *testing.T) {
		got := maskSecrets([]any{"a", map[string]any{"secure": "v1:x"}})
		checkEqual(t, "masked", got, any([]any{"a", "[secret]"}))
	})
}

// pulumiGetter serves config the way a Pulumi program's config.Get does:
// plain strings as they are, objects and lists as JSON text, and records
// the names asked for.
func pulumiGetter(values map[string]string, asked *[]string) Getter {
	return func(name string) (string, bool) {
		*asked = append(*asked, name)
		v, ok := values[name]
		return v, ok
	}
}

func TestLoadWithAPulumiGetter(t *testing.T) {
	t.Run("JSON objects and plain strings decode, default and validate", func(t *testing.T) {
		var asked []string
		c, err := Load(pulumiGetter(map[string]string{
			"strategy":  "shadow",
			"namespace": "lab",
			"cluster":   `{"type":"kind","name":"lab","workers":1}`,
			"shadow":    `{"mirrorPercent":25,"versions":[{"name":"v1","role":"primary","target":"model v1"},{"name":"v2","role":"shadow","target":"model v2","replicas":2}]}`,
			"platform":  "",
		}, &asked))
		if err != nil {
			t.Fatal(err)
		}
		checkEqual(t, "strategy", c.Strategy, StrategyShadow)
		checkEqual(t, "namespace", c.Namespace, "lab")
		checkEqual(t, "cluster.workers", c.Cluster.Workers, 1)
		checkEqual(t, "cluster.nodeImage", c.Cluster.NodeImage, DefaultKindNodeImage)
		checkEqual(t, "shadow.mirrorPercent", *c.Shadow.MirrorPercent, 25.0)
		checkEqual(t, "shadow.host", c.Shadow.Host, "model.example.com")
		checkEqual(t, "replicas", []int{*c.Shadow.Versions[0].Replicas, *c.Shadow.Versions[1].Replicas}, []int{1, 2})
		checkEqual(t, "platform.knative.domain", c.Platform.Knative.Domain, DefaultKnativeDomain)

		sort.Strings(asked)
		checkEqual(t, "keys asked for", asked, []string{"canary", "cluster", "image", "namespace", "platform", "shadow", "strategy"})
	})
	t.Run("a value that is not JSON is reported at its key", func(t *testing.T) {
		var asked []string
		_, err := Load(pulumiGetter(map[string]string{
			"strategy": "canary",
			"cluster":  `{"type": kind}`,
		}, &asked))
		assertProblems(t, fieldErrors(t, err), []want{{"modelrollouts:cluster", "is not valid JSON"}, {"modelrollouts:canary", "required when strategy is canary"}})
	})
	t.Run("decode and validation problems are reported together", func(t *testing.T) {
		var asked []string
		_, err := Load(pulumiGetter(map[string]string{
			"strategy": "rolling",
			"canary":   `{"versions":[{"name":"v1","percent":"all"}]}`,
		}, &asked))
		assertProblems(t, fieldErrors(t, err), []want{
			{"modelrollouts:canary.versions[0].percent", "must be a whole number"},
			{"modelrollouts:strategy", `unknown strategy "rolling"`},
		})
	})
	t.Run("validation problems are returned as Errors", func(t *testing.T) {
		var asked []string
		_, err := Load(pulumiGetter(map[string]string{
			"strategy": "canary",
			"canary":   `{"versions":[{"name":"v1","target":"t","percent":60},{"name":"v2","target":"t","percent":30}]}`,
		}, &asked))
		assertProblems(t, fieldErrors(t, err), []want{{"modelrollouts:canary.versions", "percents sum to 90, want 100"}})
	})
	t.Run("no config at all only lacks a strategy", func(t *testing.T) {
		var asked []string
		_, err := Load(pulumiGetter(nil, &asked))
		assertProblems(t, fieldErrors(t, err), []want{{"modelrollouts:strategy", "required: canary or shadow"}})
	})
}

func TestConfigMap(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "Pulumi.dev.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := ConfigMap(data)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("keys carry the namespace", func(t *testing.T) {
		checkEqual(t, "keys", sortedKeys(m), []string{"modelrollouts:canary", "modelrollouts:cluster", "modelrollouts:strategy"})
		checkEqual(t, "strategy", m["modelrollouts:strategy"], "canary")
	})
	t.Run("objects are JSON text that loads back to the same config", func(t *testing.T) {
		c, err := Load(func(name string) (string, bool) {
			v, ok := m[Namespace+":"+name]
			return v, ok
		})
		if err != nil {
			t.Fatal(err)
		}
		checkEqual(t, "config", c, mustLoadFile(t, "dev"))
	})
	t.Run("problems are reported as ParseStackFile reports them", func(t *testing.T) {
		_, err := ConfigMap([]byte("config:\n  modelrollouts:nope: 1\n"))
		assertProblems(t, fieldErrors(t, err), []want{{"modelrollouts:nope", "unknown key"}})
	})
}

// `pulumi config set --path` stores 12.5 as "12.5" (and, without --type,
// may store other scalars as strings): they must read as what the field wants.
func TestLoadAcceptsScalarsThatPulumiStoredAsStrings(t *testing.T) {
	values, err := ParseStackFile([]byte(`config:
  modelrollouts:strategy: shadow
  modelrollouts:platform:
    knative:
      scaleToZero: "false"
  modelrollouts:shadow:
    mirrorPercent: "12.5"
    versions:
      - {name: v1, role: primary, target: a, replicas: "2"}
      - {name: v2, role: shadow, target: b, bias: "0.25"}
`))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(func(name string) (string, bool) { v, ok := values[name]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	sh := cfg.Shadow
	if *sh.MirrorPercent != 12.5 || *sh.Versions[0].Replicas != 2 || sh.Versions[1].Bias != 0.25 || *cfg.Platform.Knative.ScaleToZero {
		t.Errorf("mirror %v replicas %v bias %v scaleToZero %v", *sh.MirrorPercent, *sh.Versions[0].Replicas, sh.Versions[1].Bias, *cfg.Platform.Knative.ScaleToZero)
	}
	// Strings stay strings where the field is a string.
	values["shadow"] = `{"mirrorPercent":1,"versions":[{"name":"v1","role":"primary","target":"42"},{"name":"v2","role":"shadow","target":"true"}]}`
	cfg, err = Load(func(name string) (string, bool) { v, ok := values[name]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Shadow.Versions[0].Target != "42" || cfg.Shadow.Versions[1].Target != "true" {
		t.Errorf("targets %q %q", cfg.Shadow.Versions[0].Target, cfg.Shadow.Versions[1].Target)
	}
}

func TestLoadHeaderRoutingAsPulumiStoresIt(t *testing.T) {
	// `pulumi config set --path shadow.headerRouting true` stores a typed
	// boolean; a hand-written file may quote it.
	for _, value := range []string{"true", `"true"`} {
		values, err := ParseStackFile([]byte(`config:
  modelrollouts:strategy: shadow
  modelrollouts:shadow:
    mirrorPercent: 10
    bindTo: mesh
    headerRouting: ` + value + `
    versions:
      - {name: v1, role: primary, target: a}
      - {name: v2, role: shadow, target: b}
`))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(func(name string) (string, bool) { v, ok := values[name]; return v, ok })
		if err != nil {
			t.Fatalf("headerRouting: %s: %v", value, err)
		}
		if !cfg.Shadow.HeaderRouting || cfg.Shadow.BindTo != BindMesh || cfg.Shadow.ViaGateway() || !cfg.Shadow.InMesh() {
			t.Errorf("headerRouting: %s: got %+v", value, cfg.Shadow)
		}
	}
}

func TestTheByoStackShadowsTwoOwnImagesBehindTheAgent(t *testing.T) {
	c := mustLoadFile(t, "byo")

	checkEqual(t, "strategy", c.Strategy, StrategyShadow)
	checkEqual(t, "cluster type", c.Cluster.Type, ClusterKind)
	checkEqual(t, "versions", len(c.Shadow.Versions), 2)
	for i, v := range c.Shadow.Versions {
		if v.RunsModelEcho() {
			t.Errorf("versions[%d] runs model-echo, want an own image", i)
		}
		checkEqual(t, "readinessPath", v.ReadinessPath, "/v2/health/ready")
		checkEqual(t, "port", *v.Port, 8081)
		checkEqual(t, "payloadLog", *v.PayloadLog, true)
	}
}
