package stacks

import (
	"encoding/json"
	"strings"
	"testing"
)

// canaryOutputs is `pulumi stack output --json` of the dev stack: secrets
// are shown as [secret] without --show-secrets.
const canaryOutputs = `{
  "host": "model.models.example.com",
  "ingressUrl": "http://127.0.0.1:8080",
  "kubeconfig": "[secret]",
  "namespace": "models",
  "split": {
    "v1": 90,
    "v2": 10
  },
  "strategy": "canary",
  "versions": {
    "v1": {
      "host": "v1-model.models.example.com",
      "percent": 90,
      "tag": "v1",
      "target": "model v1",
      "url": "http://v1-model.models.example.com"
    },
    "v2": {
      "host": "v2-model.models.example.com",
      "percent": 10,
      "tag": "v2",
      "target": "model v2",
      "url": "http://v2-model.models.example.com"
    }
  }
}
`

// shadowOutputs is `pulumi stack output --json` of the shadow stack.
const shadowOutputs = `{
  "host": "model.example.com",
  "ingressUrl": "http://127.0.0.1:8081",
  "kubeconfig": "[secret]",
  "mirrorPercent": 50,
  "namespace": "models",
  "primary": "v1",
  "shadow": "v2",
  "strategy": "shadow",
  "versions": {
    "v1": {
      "host": "v1.model.example.com",
      "role": "primary",
      "target": "model v1",
      "url": "http://v1.model.example.com"
    },
    "v2": {
      "host": "v2.model.example.com",
      "role": "shadow",
      "target": "model v2",
      "url": "http://v2.model.example.com"
    }
  }
}
`

func TestParseOutputsCanary(t *testing.T) {
	o, err := ParseOutputs([]byte(canaryOutputs))
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "outputs", *o, Outputs{
		Strategy:   StrategyCanary,
		Namespace:  "models",
		IngressURL: "http://127.0.0.1:8080",
		Host:       "model.models.example.com",
		Versions: map[string]VersionOutput{
			"v1": {Target: "model v1", Host: "v1-model.models.example.com", URL: "http://v1-model.models.example.com", Tag: "v1", Percent: ptr(90)},
			"v2": {Target: "model v2", Host: "v2-model.models.example.com", URL: "http://v2-model.models.example.com", Tag: "v2", Percent: ptr(10)},
		},
		Split:      map[string]int{"v1": 90, "v2": 10},
		Kubeconfig: "[secret]",
	})
}

func TestParseOutputsShadow(t *testing.T) {
	o, err := ParseOutputs([]byte(shadowOutputs))
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "outputs", *o, Outputs{
		Strategy:   StrategyShadow,
		Namespace:  "models",
		IngressURL: "http://127.0.0.1:8081",
		Host:       "model.example.com",
		Versions: map[string]VersionOutput{
			"v1": {Target: "model v1", Host: "v1.model.example.com", URL: "http://v1.model.example.com", Role: RolePrimary},
			"v2": {Target: "model v2", Host: "v2.model.example.com", URL: "http://v2.model.example.com", Role: RoleShadow},
		},
		Primary:       "v1",
		Shadow:        "v2",
		MirrorPercent: ptr(50.0),
		Kubeconfig:    "[secret]",
	})
}

func TestOutputNamesMatchTheJSONFields(t *testing.T) {
	b, err := json.Marshal(Outputs{
		Split: map[string]int{"v1": 1}, Primary: "p", Shadow: "s", MirrorPercent: ptr(1.0), Kubeconfig: "k",
		IngressPending: "why",
	})
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{OutputStrategy, OutputNamespace, OutputIngressURL, OutputHost, OutputVersions,
		OutputSplit, OutputPrimary, OutputShadow, OutputMirrorPercent, OutputKubeconfig, OutputIngressPending} {
		if _, ok := fields[name]; !ok {
			t.Errorf("output %q is no JSON field of Outputs (fields: %v)", name, sortedKeys(fields))
		}
	}
	if len(fields) != 11 {
		t.Errorf("Outputs has %d JSON fields, want the 11 named outputs: %v", len(fields), sortedKeys(fields))
	}
}

// editJSON decodes text, applies edit and encodes it again.
func editJSON(t *testing.T, text string, edit func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseOutputsRejects(t *testing.T) {
	tests := []struct {
		name string
		base string
		edit func(m map[string]any)
		want string
	}{
		{"outputs without a strategy", canaryOutputs,
			func(m map[string]any) { delete(m, "strategy") },
			`stack output strategy is "", want canary or shadow`},
		{"outputs of an unknown strategy", canaryOutputs,
			func(m map[string]any) { m["strategy"] = "blue-green" },
			`stack output strategy is "blue-green", want canary or shadow`},
		{"outputs without an ingress URL", canaryOutputs,
			func(m map[string]any) { m["ingressUrl"] = "" },
			"stack output ingressUrl is empty: the ingress address is unknown (set cluster.ingressUrl)"},
		{"outputs whose ingress URL is pending say why", canaryOutputs,
			func(m map[string]any) {
				m["ingressUrl"] = ""
				m["ingressPending"] = "the gateway has no load-balancer address yet"
			},
			"stack output ingressUrl is empty: the gateway has no load-balancer address yet"},
		{"outputs without a host", shadowOutputs,
			func(m map[string]any) { delete(m, "host") },
			"stack output host is empty"},
		{"outputs without versions", canaryOutputs,
			func(m map[string]any) { m["versions"] = map[string]any{} },
			"stack output versions is empty"},
		{"shadow outputs whose primary is not a version", shadowOutputs,
			func(m map[string]any) { m["primary"] = "v0" },
			`stack output primary names "v0", which is not in versions`},
		{"shadow outputs without a primary", shadowOutputs,
			func(m map[string]any) { delete(m, "primary") },
			`stack output primary names "", which is not in versions`},
		{"shadow outputs whose shadow is not a version", shadowOutputs,
			func(m map[string]any) { m["shadow"] = "v3" },
			`stack output shadow names "v3", which is not in versions`},
		{"shadow outputs without a mirror percent", shadowOutputs,
			func(m map[string]any) { delete(m, "mirrorPercent") },
			"stack output mirrorPercent is missing"},
		{"outputs whose split is not a map of numbers", canaryOutputs,
			func(m map[string]any) { m["split"] = "90/10" },
			"decode stack outputs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := ParseOutputs(editJSON(t, tt.base, tt.edit))
			if err == nil {
				t.Fatalf("ParseOutputs accepted them: %+v", o)
			}
			if o != nil {
				t.Errorf("ParseOutputs returned outputs with its error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
	t.Run("text that is not JSON is a decode error", func(t *testing.T) {
		_, err := ParseOutputs([]byte("error: no stack selected"))
		if err == nil || !strings.HasPrefix(err.Error(), "decode stack outputs: ") {
			t.Errorf("err = %v, want a decode error", err)
		}
	})
	t.Run("an empty object fails the first check", func(t *testing.T) {
		_, err := ParseOutputs([]byte("{}"))
		if err == nil || !strings.Contains(err.Error(), "stack output strategy") {
			t.Errorf("err = %v, want the strategy check", err)
		}
	})
}

func TestParseOutputsAccepts(t *testing.T) {
	tests := []struct {
		name string
		base string
		edit func(m map[string]any)
	}{
		{"canary outputs need no primary, shadow or mirror percent", canaryOutputs,
			func(m map[string]any) { delete(m, "primary"); delete(m, "mirrorPercent") }},
		{"a mirror percent of 0 is present", shadowOutputs,
			func(m map[string]any) { m["mirrorPercent"] = 0 }},
		{"outputs of a stack on an existing cluster have no kubeconfig", canaryOutputs,
			func(m map[string]any) { delete(m, "kubeconfig"); m["ingressUrl"] = "http://203.0.113.10" }},
		{"unknown outputs are ignored", shadowOutputs,
			func(m map[string]any) { m["dashboard"] = "http://grafana" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseOutputs(editJSON(t, tt.base, tt.edit)); err != nil {
				t.Errorf("ParseOutputs: %v", err)
			}
		})
	}
}

func TestCheckOnOutputsBuiltInGo(t *testing.T) {
	o := Outputs{Strategy: StrategyShadow, IngressURL: "http://x", Host: "h",
		Versions: map[string]VersionOutput{"a": {}, "b": {}}, Primary: "a", Shadow: "b"}
	if err := o.Check(); err == nil || !strings.Contains(err.Error(), "mirrorPercent is missing") {
		t.Errorf("Check() = %v, want mirrorPercent missing", err)
	}
	o.MirrorPercent = ptr(10.0)
	if err := o.Check(); err != nil {
		t.Errorf("Check() = %v, want nil", err)
	}
}

func TestInClusterViewReplacesEveryAddressAndDropsTheKubeconfig(t *testing.T) {
	o := &Outputs{
		Strategy: StrategyCanary, Namespace: "models", IngressURL: "http://127.0.0.1:8080", Host: "model.models.example.com",
		Kubeconfig: "secret",
		Versions: map[string]VersionOutput{
			"v1": {Target: "a", Host: "v1-model.models.example.com", URL: "http://v1-model.models.example.com", Tag: "v1"},
			"v2": {Target: "b"},
		},
		InCluster: &InClusterOutputs{URL: "http://model.models.svc.cluster.local", Host: "model.models.svc.cluster.local",
			VersionHosts: map[string]string{"v1": "v1-model.models.svc.cluster.local"}},
	}
	in, err := o.InClusterView()
	if err != nil {
		t.Fatal(err)
	}
	if in.IngressURL != "http://model.models.svc.cluster.local" || in.Host != "model.models.svc.cluster.local" || in.Kubeconfig != "" || in.InCluster != nil {
		t.Errorf("view %+v", in)
	}
	if v1 := in.Versions["v1"]; v1.Host != "v1-model.models.svc.cluster.local" || v1.URL != "http://v1-model.models.svc.cluster.local" || v1.Target != "a" {
		t.Errorf("versions[v1] %+v", v1)
	}
	if v2 := in.Versions["v2"]; v2.Host != "" || v2.URL != "" {
		t.Errorf("versions[v2] %+v: no own host inside the cluster", v2)
	}
	if o.Versions["v1"].Host != "v1-model.models.example.com" {
		t.Error("the view changed the outputs it was made from")
	}
	o.InCluster = nil
	if _, err := o.InClusterView(); err == nil || !strings.Contains(err.Error(), OutputInCluster) {
		t.Errorf("no in-cluster routing: %v", err)
	}
}

// A version whose own model runs behind the agent is probed on its
// readiness path; model-echo, and a user host mixing the two, on /.
func TestProbePathIsTheReadinessPathBehindTheAgentElseRoot(t *testing.T) {
	agent := VersionOutput{Agent: true, ReadinessPath: "/v2/health/ready"}
	echo := VersionOutput{Target: "v1"}
	if agent.ProbePath() != "/v2/health/ready" || agent.AnswersTarget() {
		t.Errorf("agent version: probe %q, answers target %v", agent.ProbePath(), agent.AnswersTarget())
	}
	if echo.ProbePath() != "/" || !echo.AnswersTarget() {
		t.Errorf("model-echo version: probe %q, answers target %v", echo.ProbePath(), echo.AnswersTarget())
	}
	both := &Outputs{Versions: map[string]VersionOutput{"v1": agent, "v2": agent}}
	mixed := &Outputs{Versions: map[string]VersionOutput{"v1": agent, "v2": echo}}
	if both.UserProbePath() != "/v2/health/ready" || mixed.UserProbePath() != "/" {
		t.Errorf("user probe: both behind the agent %q, mixed %q", both.UserProbePath(), mixed.UserProbePath())
	}
}
