package stacks

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// Realistic mistakes a new user makes in a stack file, and values as
// `pulumi config set --path` writes them: each is either accepted as the
// user meant it or refused before anything is created, at the key the user
// set, with what is wanted.

// canaryFile is a valid canary stack file; extra is appended to its
// version's fields (indented by 8).
func canaryFile(extra string) string {
	return `config:
  modelrollouts:strategy: canary
  modelrollouts:canary:
    versions:
      - name: v1
        target: model v1
        percent: 100
` + extra
}

// `pulumi config set --path 'canary.versions[0].env.THREADS' 4` stores 4 as
// a number, `... true` a boolean, and a 20-digit id as a number too: each
// is read as the string the user typed wherever a string is wanted.
func TestScalarsThePulumiCLIStoresTypedAreAcceptedWhereAStringIsWanted(t *testing.T) {
	check := func(t *testing.T, c *Config) {
		t.Helper()
		v := c.Canary.Versions[0]
		checkEqual(t, "env", v.Env, map[string]string{"THREADS": "4", "DEBUG": "true", "TRACE_ID": "12345678901234567890", "RATIO": "0.5"})
		checkEqual(t, "target", v.Target, "42")
		checkEqual(t, "tag", v.Tag, "v1")
		checkEqual(t, "image.tag", c.Image.Tag, "2")
	}
	t.Run("in a stack file", func(t *testing.T) {
		c, err := loadYAML(t, `config:
  modelrollouts:strategy: canary
  modelrollouts:image:
    tag: 2
  modelrollouts:canary:
    versions:
      - name: v1
        target: 42
        percent: 100
        env:
          THREADS: 4
          DEBUG: true
          TRACE_ID: 12345678901234567890
          RATIO: 0.5
`)
		if err != nil {
			t.Fatal(err)
		}
		check(t, c)
	})
	t.Run("through the program's config getter", func(t *testing.T) {
		var asked []string
		c, err := Load(pulumiGetter(map[string]string{
			"strategy": "canary",
			"image":    `{"tag":2}`,
			"canary":   `{"versions":[{"name":"v1","target":42,"percent":100,"env":{"THREADS":4,"DEBUG":true,"TRACE_ID":12345678901234567890,"RATIO":0.5}}]}`,
		}, &asked))
		if err != nil {
			t.Fatal(err)
		}
		check(t, c)
	})
	t.Run("an object is still not a string", func(t *testing.T) {
		_, err := loadYAML(t, canaryFile("        env:\n          THREADS: {n: 4}\n"))
		assertProblems(t, fieldErrors(t, err), []want{{"modelrollouts:canary.versions[0].env.THREADS", "must be a string, got an object"}})
	})
}

// A shape error (an unknown field, a wrong type) no longer hides the other
// problems of the file.
func TestEveryProblemIsReportedEvenBesideShapeErrors(t *testing.T) {
	t.Run("workers out of range beside an unknown field", func(t *testing.T) {
		_, err := loadYAML(t, `config:
  modelrollouts:strategy: canary
  modelrollouts:cluster:
    workers: 50
  modelrollouts:canary:
    versions:
      - name: v1
        target: model v1
        percnt: 100
`)
		assertProblems(t, fieldErrors(t, err), []want{
			{"modelrollouts:canary.versions[0].percnt", "unknown field"},
			{"modelrollouts:cluster.workers", "50 is out of range, want 0 to 10"},
			{"modelrollouts:canary.versions[0].percent", "required"},
		})
	})
	t.Run("a value of the wrong type is not also reported as missing", func(t *testing.T) {
		_, err := loadYAML(t, `config:
  modelrollouts:strategy: rolling
  modelrollouts:canary:
    versions:
      - name: v1
        target: model v1
        percent: all
`)
		assertProblems(t, fieldErrors(t, err), []want{
			{"modelrollouts:canary.versions[0].percent", `must be a whole number, got "all"`},
			{"modelrollouts:strategy", `unknown strategy "rolling"`},
		})
	})
	t.Run("an unknown top-level key beside a validation problem", func(t *testing.T) {
		_, err := loadYAML(t, canaryFile("  modelrollouts:namspace: lab\n  modelrollouts:cluster:\n    ingressNodePort: 80\n"))
		assertProblems(t, fieldErrors(t, err), []want{
			{"modelrollouts:namspace", "unknown key"},
			{"modelrollouts:cluster.ingressNodePort", "80 is out of range, want 30000 to 32767"},
		})
	})
	t.Run("a key that is not JSON through the getter is not also reported as missing", func(t *testing.T) {
		var asked []string
		_, err := Load(pulumiGetter(map[string]string{"strategy": "canary", "canary": `{"versions": [}`}, &asked))
		assertProblems(t, fieldErrors(t, err), []want{{"modelrollouts:canary", "is not valid JSON"}})
	})
}

func TestNonFiniteMirrorPercentIsOutOfRange(t *testing.T) {
	for _, spelled := range []string{".nan", ".NaN", ".inf", "-.inf", "+.inf"} {
		t.Run(spelled+" in a stack file", func(t *testing.T) {
			_, err := loadYAML(t, `config:
  modelrollouts:strategy: shadow
  modelrollouts:shadow:
    mirrorPercent: `+spelled+`
    versions:
      - {name: v1, role: primary, target: a}
      - {name: v2, role: shadow, target: b}
`)
			assertProblems(t, fieldErrors(t, err), []want{{"modelrollouts:shadow.mirrorPercent", "is out of range, want 0 to 100"}})
		})
	}
	t.Run("NaN typed as a string through the getter", func(t *testing.T) {
		var asked []string
		_, err := Load(pulumiGetter(map[string]string{"strategy": "shadow",
			"shadow": `{"mirrorPercent":"NaN","versions":[{"name":"v1","role":"primary","target":"a"},{"name":"v2","role":"shadow","target":"b"}]}`}, &asked))
		assertProblems(t, fieldErrors(t, err), []want{{"modelrollouts:shadow.mirrorPercent", "NaN is out of range, want 0 to 100"}})
	})
	t.Run("a non-finite bias is refused", func(t *testing.T) {
		_, err := loadYAML(t, canaryFile("        bias: .inf\n"))
		assertProblems(t, fieldErrors(t, err), []want{{"modelrollouts:canary.versions[0].bias", "+Inf is not a finite number"}})
	})
}

func TestImageReferencesAreParsed(t *testing.T) {
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		name   string
		base   func() *Config
		mutate func(c *Config)
		want   []want
	}{
		{"capitals in image.ref are refused", baseExisting,
			func(c *Config) { c.Image.Ref = "ghcr.io/Example/model-echo:1.0.0" },
			[]want{{pImage + ".ref", "repository name (Example/model-echo) must be lowercase"}}},
		{"a tag followed by @latest is refused", baseExisting,
			func(c *Config) { c.Image.Ref = "ghcr.io/example/model-echo:1.0@latest" },
			[]want{{pImage + ".ref", `"ghcr.io/example/model-echo:1.0@latest" is not an image reference`}}},
		{"a space in a version's image is refused at the version", baseExisting,
			func(c *Config) { c.Canary.Versions[1].Image = "ghcr.io/example/model echo:1.1.0" },
			[]want{{canaryV(1, "image"), "is not an image reference"}}},
		{"capitals in image.repository are refused", baseCanary,
			func(c *Config) { c.Image.Repository = "kind.local/Model-Echo" },
			[]want{{pImage + ".repository", "repository name (Model-Echo) must be lowercase"}}},
		{"a tag in image.repository is refused, pointing at image.tag", baseCanary,
			func(c *Config) { c.Image.Repository = "kind.local/model-echo:1.0" },
			[]want{{pImage + ".repository", "set the tag with image.tag"}}},
		{"an image.tag that is not a tag is refused", baseCanary,
			func(c *Config) { c.Image.Tag = "v1 beta" },
			[]want{{pImage + ".tag", `"v1 beta" is not an image tag`}}},
		{"a ref by digest and a Docker Hub short name are accepted", baseExisting,
			func(c *Config) {
				c.Image.Ref = "ghcr.io/example/model-echo@" + digest
				c.Canary.Versions[1].Image = "model-echo:1.1.0"
			}, nil},
		{"a ref with a registry port, tag and digest is accepted", baseExisting,
			func(c *Config) { c.Image.Ref = "registry.lab:5000/ml/model-echo:1.0.0@" + digest }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.base()
			tt.mutate(c)
			assertProblems(t, validationErrors(t, c), tt.want)
		})
	}
}

func TestEnvNamesAreCheckedLikeKubernetesDoes(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []want
	}{
		{"a name with = is refused at its quoted key", map[string]string{"LOG_LEVEL=debug": "1"},
			[]want{{pCanary + `.versions[0].env["LOG_LEVEL=debug"]`, `"LOG_LEVEL=debug" is not an environment variable name`}}},
		{"a name starting with a digit is refused", map[string]string{"1THREADS": "4"},
			[]want{{pCanary + ".versions[0].env.1THREADS", "is not an environment variable name"}}},
		{"an empty name is refused", map[string]string{"": "x"},
			[]want{{pCanary + `.versions[0].env[""]`, "is not an environment variable name"}}},
		{"names Kubernetes accepts, dots and dashes included, are accepted",
			map[string]string{"LOG_LEVEL": "debug", "my.setting": "1", "_x-y": "2"}, nil},
		{"Knative's reserved K_ variables are refused", map[string]string{"K_SERVICE": "x"},
			[]want{{pCanary + ".versions[0].env.K_SERVICE", "is set by Knative"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := baseCanary()
			c.Canary.Versions[0].Env = tt.env
			assertProblems(t, validationErrors(t, c), tt.want)
		})
	}
}

func TestListenAddressIsAnIPAddress(t *testing.T) {
	tests := []struct {
		addr string
		want []want
	}{
		{"127.0.0.1:8082", []want{{pCluster + ".listenAddress", `"127.0.0.1:8082" is not an IP address (without a port: the port is cluster.ingressHostPort)`}}},
		{"localhost", []want{{pCluster + ".listenAddress", "is not an IP address"}}},
		{"[::1]", []want{{pCluster + ".listenAddress", "is not an IP address"}}},
		{"0.0.0.0", nil},
		{"::1", nil},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			c := baseCanary()
			c.Cluster.ListenAddress = tt.addr
			assertProblems(t, validationErrors(t, c), tt.want)
		})
	}
}

// Knative tags and the Kubernetes Services the shadow creates are DNS-1035
// labels: they start with a letter.
func TestServiceNamesAndTagsAreDNS1035Labels(t *testing.T) {
	tests := []struct {
		name   string
		base   func() *Config
		mutate func(c *Config)
		want   []want
	}{
		{"a canary version named 2 without a tag is refused at its name", baseCanary,
			func(c *Config) { c.Canary.Versions[1].Name = "2" },
			[]want{{canaryV(1, "name"), `"2" is not a DNS-1035 label, as the version's tag defaults to its name`}}},
		{"a canary version named 2 with a tag of its own is accepted", baseCanary,
			func(c *Config) { c.Canary.Versions[1].Name = "2"; c.Canary.Versions[1].Tag = "next" }, nil},
		{"a tag starting with a digit is refused at the tag", baseCanary,
			func(c *Config) { c.Canary.Versions[1].Tag = "2nd" },
			[]want{{canaryV(1, "tag"), `"2nd" is not a DNS-1035 label`}}},
		{"a shadow service starting with a digit is refused", baseShadow,
			func(c *Config) { c.Shadow.Service = "1model"; c.Shadow.Host = "model.example.com" },
			[]want{{pShadow + ".service", `"1model" is not a DNS-1035 label`}}},
		{"a canary service starting with a digit is refused", baseCanary,
			func(c *Config) { c.Canary.Service = "1model" },
			[]want{{pCanary + ".service", `"1model" is not a DNS-1035 label`}}},
		{"a shadow version named 2 is accepted: its objects are model-2", baseShadow,
			func(c *Config) { c.Shadow.Versions[1].Name = "2" }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.base()
			tt.mutate(c)
			assertProblems(t, validationErrors(t, c), tt.want)
		})
	}
	t.Run("a version named 2 in a stack file is refused at its name", func(t *testing.T) {
		_, err := loadYAML(t, `config:
  modelrollouts:strategy: canary
  modelrollouts:canary:
    versions:
      - {name: 2, target: a, percent: 100}
`)
		assertProblems(t, fieldErrors(t, err), []want{{canaryV(0, "name"), "is not a DNS-1035 label"}})
	})
}

func TestAShadowStackOnKindMayBuildIntoAnyLocalRepository(t *testing.T) {
	c := baseShadow()
	c.Image.Repository = "registry.lab/model-echo"
	assertProblems(t, validationErrors(t, c), nil)

	t.Run("a canary stack on kind still may not: Knative would resolve the tag", func(t *testing.T) {
		c := baseCanary()
		c.Image.Repository = "registry.lab/model-echo"
		assertProblems(t, validationErrors(t, c), []want{{pImage + ".repository", "is not in a registry Knative skips tag resolution for"}})
	})
}

func TestEachProblemIsReportedAtTheKeyTheUserSet(t *testing.T) {
	tests := []struct {
		name   string
		base   func() *Config
		mutate func(c *Config)
		want   []want
	}{
		{"a context on a kind cluster is reported at cluster.context", baseCanary,
			func(c *Config) { c.Cluster.Context = "prod" },
			[]want{{pCluster + ".context", "applies only to existing clusters"}}},
		{"a kubeconfig and a context on a kind cluster are reported at each", baseCanary,
			func(c *Config) { c.Cluster.Context = "prod"; c.Cluster.Kubeconfig = "/k" },
			[]want{{pCluster + ".kubeconfig", "kind clusters make their own kubeconfig"}, {pCluster + ".context", "applies only to existing clusters"}}},
		{"workers on an existing cluster are reported at cluster.workers", baseExisting,
			func(c *Config) { c.Cluster.Workers = 2 },
			[]want{{pCluster + ".workers", "applies only to kind clusters"}}},
		{"a name and a node image on an existing cluster are reported at each", baseExisting,
			func(c *Config) { c.Cluster.Name = "lab"; c.Cluster.NodeImage = "kindest/node:v1.37.0" },
			[]want{{pCluster + ".name", "applies only to kind clusters"}, {pCluster + ".nodeImage", "applies only to kind clusters"}}},
		{"port mappings on an existing cluster are reported at each", baseExisting,
			func(c *Config) {
				c.Cluster.IngressHostPort, c.Cluster.IngressNodePort, c.Cluster.ListenAddress = 8080, 31080, "127.0.0.1"
			},
			[]want{{pCluster + ".ingressHostPort", "applies only to kind"}, {pCluster + ".ingressNodePort", "applies only to kind"}, {pCluster + ".listenAddress", "applies only to kind"}}},
		{"a long version name with no tag is blamed, not the tag it defaults", baseCanary,
			func(c *Config) { c.Canary.Versions[1].Name = strings.Repeat("v", 58) }, // 58+1+len("model") = 64
			[]want{{canaryV(1, "name"), "64 characters, want at most 63"}}},
		{"a long tag that was set is blamed", baseCanary,
			func(c *Config) { c.Canary.Versions[1].Tag = strings.Repeat("t", 58) },
			[]want{{canaryV(1, "tag"), "64 characters, want at most 63"}}},
		{"a service too long for any tag is blamed once", baseCanary,
			func(c *Config) { c.Canary.Service = strings.Repeat("s", 62) },
			[]want{{pCanary + ".service", "62 characters leaves no room for a tag, want at most 61"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.base()
			tt.mutate(c)
			assertProblems(t, validationErrors(t, c), tt.want)
		})
	}
}

// Every out-of-range message names the allowed range: "want LO to HI" or
// "want LO or more".
func TestEveryOutOfRangeMessageGivesTheAllowedRange(t *testing.T) {
	tests := []struct {
		base   func() *Config
		mutate func(c *Config)
		path   string
		want   string
	}{
		{baseCanary, func(c *Config) { c.Cluster.Workers = 11 }, pCluster + ".workers", "11 is out of range, want 0 to 10"},
		{baseCanary, func(c *Config) { c.Cluster.IngressHostPort = 70000 }, pCluster + ".ingressHostPort", "70000 is out of range, want 1 to 65535"},
		{baseCanary, func(c *Config) { c.Cluster.IngressNodePort = 80 }, pCluster + ".ingressNodePort", "80 is out of range, want 30000 to 32767"},
		{baseCanary, func(c *Config) { c.Canary.Versions[0].Percent = ptr(101) }, canaryV(0, "percent"), "101 is out of range, want 0 to 100"},
		{baseCanary, func(c *Config) { c.Canary.Versions[0].MinScale = ptr(-1) }, canaryV(0, "minScale"), "-1 is out of range, want 0 or more"},
		{baseCanary, func(c *Config) { c.Canary.Versions[0].MaxScale = ptr(-1) }, canaryV(0, "maxScale"), "-1 is out of range, want 0 or more"},
		{baseCanary, func(c *Config) { c.Canary.Versions[0].InitialScale = ptr(-1) }, canaryV(0, "initialScale"), "-1 is out of range, want 0 or more"},
		{baseCanary, func(c *Config) { c.Canary.Versions[0].MinScale = ptr(3); c.Canary.Versions[0].MaxScale = ptr(2) }, canaryV(0, "minScale"), "3 is above maxScale 2, want 0 to 2"},
		{baseCanary, func(c *Config) { c.Canary.Versions[0].LatencyMs = -5 }, canaryV(0, "latencyMs"), "-5 is out of range, want 0 to 600000"},
		{baseCanary, func(c *Config) { c.Canary.Versions[0].LatencyMs = 600001 }, canaryV(0, "latencyMs"), "600001 is out of range, want 0 to 600000"},
		{baseCanary, func(c *Config) { c.Canary.Versions[0].ErrorRate = 1.5 }, canaryV(0, "errorRate"), "1.5 is out of range, want 0 to 1"},
		{baseShadow, func(c *Config) { c.Shadow.MirrorPercent = ptr(-1.0) }, pShadow + ".mirrorPercent", "-1 is out of range, want 0 to 100"},
		{baseShadow, func(c *Config) { c.Shadow.Versions[0].Replicas = ptr(0) }, shadowV(0, "replicas"), "0 is out of range, want 1 or more"},
	}
	rangeWanted := regexp.MustCompile(`out of range, want -?[0-9.]+ (to -?[0-9.]+|or more)`)
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			c := tt.base()
			tt.mutate(c)
			got := validationErrors(t, c)
			assertProblems(t, got, []want{{tt.path, tt.want}})
			if !rangeWanted.MatchString(got[0].Message) && !strings.Contains(got[0].Message, "want 0 to 2") {
				t.Errorf("%q does not give the allowed range", got[0].Message)
			}
		})
	}
}

// Pulumi reads a stack file key without a namespace as the project's own
// (pulumi/pulumi#8603: `strategy` is `modelrollouts:strategy`), accepts the
// old `modelrollouts:config:strategy`, and refuses other keys with more
// than one colon. The offline loader must read the file the same way.
func TestStackFileKeysAreReadAsPulumiReadsThem(t *testing.T) {
	t.Run("keys without a namespace are the project's", func(t *testing.T) {
		c, err := loadYAML(t, `config:
  strategy: canary
  canary:
    versions:
      - {name: v1, target: a, percent: 100}
  kubernetes:context: kind-lab
`)
		if err != nil {
			t.Fatal(err)
		}
		checkEqual(t, "strategy", c.Strategy, StrategyCanary)
	})
	t.Run("a typo without a namespace is an unknown key of ours, not silently ignored", func(t *testing.T) {
		_, err := loadYAML(t, canaryFile("  stratgy: shadow\n"))
		assertProblems(t, fieldErrors(t, err), []want{{"modelrollouts:stratgy", "unknown key"}})
	})
	t.Run("a namespace one typo from ours is refused, not silently ignored", func(t *testing.T) {
		_, err := loadYAML(t, canaryFile("  modelrolouts:namespace: lab\n  ModelRollouts:image: {}\n  kubernetes:context: kind-lab\n  models:x: 1\n"))
		assertProblems(t, fieldErrors(t, err), []want{
			{"modelrolouts:namespace", `namespace "modelrolouts" is not the project's, want modelrollouts:namespace`},
			{"ModelRollouts:image", `namespace "ModelRollouts" is not the project's`},
		})
	})
	t.Run("the old namespace:config:name spelling is the same key", func(t *testing.T) {
		values, err := ParseStackFile([]byte("config:\n  modelrollouts:config:strategy: canary\n"))
		if err != nil {
			t.Fatal(err)
		}
		checkEqual(t, "values", values, map[string]string{"strategy": "canary"})
	})
	t.Run("a key with more colons is refused with Pulumi's message", func(t *testing.T) {
		_, err := ParseStackFile([]byte("config:\n  modelrollouts:canary:service: model\n"))
		assertProblems(t, fieldErrors(t, err), []want{{"modelrollouts:canary:service",
			"could not parse modelrollouts:canary:service as a configuration key (configuration keys should be of the form `<namespace>:<name>`)"}})
	})
}

// yaml.v3 names the line where the enclosing block starts, or the line
// before the mistake; the error must name the mistake's own line.
func TestYAMLSyntaxErrorsNameTheLineOfTheMistake(t *testing.T) {
	head := "config:\n  modelrollouts:strategy: canary\n  modelrollouts:canary:\n    versions:\n      - name: v1\n"
	tests := []struct {
		name, text string
		line       int
	}{
		{"a tab in the indentation", head + "\t  percent: 100\n", 6},
		{"a field indented one space short", head + "       percent: 100\n", 6},
		{"a missing colon", head + "        target: a\n  percent 100\n  x: 1\n", 7},
		{"a colon in a plain value", head + "        target: a: b\n", 6},
		{"a key given twice", head + "        percent: 100\n        percent: 90\n", 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadYAML(t, tt.text)
			if err == nil {
				t.Fatal("a file that is not YAML loaded")
			}
			first := strings.SplitN(err.Error(), "\n", 2)[0]
			if !strings.Contains(first, fmt.Sprintf("line %d,", tt.line)) {
				t.Errorf("error does not name line %d first:\n%v", tt.line, err)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("> %2d |", tt.line)) {
				t.Errorf("error does not show line %d:\n%v", tt.line, err)
			}
		})
	}
}
