//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/modelrollouts/modelrollouts/test/integration/harness"
)

// TestPlatformInstallsFromOfflineSources installs Istio from its charts
// (by local path) and Knative Serving + net-istio from local manifests into
// a fresh cluster of its own, then checks every Deployment they create is
// Available and a second up is a no-op.
//
// Offline, Knative's manifests come from the knative.dev/serving module:
// config/core is serving-core.yaml unrendered, less 999-cache.yaml and
// 300-knativecertificate.yaml, whose Image and Certificate kinds are defined
// in knative.dev/caching and knative.dev/networking, which the module proxy
// does not serve; third_party/istio-latest/net-istio.yaml is the matching
// net-istio release. The release's networking CRDs (knative.dev/networking)
// are missing for the same reason; no controller runs to need them here.
func TestPlatformInstallsFromOfflineSources(t *testing.T) {
	requireTier(t)
	ctx := context.Background()
	var cluster *harness.Cluster
	var err error
	stage("platform: cluster start", func() {
		cluster, err = harness.StartClusterWith(ctx, t.TempDir(), harness.ClusterOptions{Name: "modelrollouts-platform"})
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cluster.Stop() })

	serving := filepath.Join(tier.tools.KnativeServingDir, "config", "core")
	cfg := config("canary", map[string]any{
		"namespace": "it-platform",
		"cluster": map[string]any{
			"type": "existing", "kubeconfig": cluster.Kubeconfig,
			"ingressUrl": "http://127.0.0.1:8080",
		},
		"platform": map[string]any{
			"istio": map[string]any{
				"install": true, "chartsDir": tier.tools.IstioChartsDir, "gatewayServiceType": "NodePort",
			},
			"knative": map[string]any{
				"install":      true,
				"crdManifests": []string{filepath.Join(serving, "300-resources", "*.yaml")},
				"coreManifests": []string{
					filepath.Join(serving, "100-namespace.yaml"),
					filepath.Join(serving, "200-serviceaccount.yaml"),
					filepath.Join(serving, "200-roles", "*.yaml"),
					filepath.Join(serving, "configmaps", "*.yaml"),
					filepath.Join(serving, "deployments", "*.yaml"),
					filepath.Join(serving, "webhooks", "*.yaml"),
				},
				"netIstioManifests": []string{filepath.Join(tier.tools.KnativeNetIstioDir, "net-istio.yaml")},
			},
		},
		"canary": canaryVersions(100),
	})
	st := newStack(t, "it-platform", cfg)
	st.up("platform: up (Istio charts, Knative manifests, canary)")

	for _, ns := range []string{"istio-system", "knative-serving"} {
		out, err := cluster.RunKubectl(ctx, "-n", ns, "get", "deployments", "-o", "json")
		if err != nil {
			t.Fatal(err)
		}
		var list struct {
			Items []map[string]any `json:"items"`
		}
		if err := json.Unmarshal(out, &list); err != nil {
			t.Fatal(err)
		}
		if len(list.Items) == 0 {
			t.Errorf("no Deployments in %s", ns)
		}
		for _, d := range list.Items {
			name := field(d, "metadata", "name")
			if !conditionTrue(d, "Available") {
				t.Errorf("%s/%s is not Available", ns, name)
			} else {
				t.Logf("%s/%s Available", ns, name)
			}
		}
	}
	cm, err := cluster.RunKubectl(ctx, "-n", "knative-serving", "get", "configmap", "config-deployment", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var configDeployment map[string]any
	_ = json.Unmarshal(cm, &configDeployment)
	if got := field(configDeployment, "data", "registries-skipping-tag-resolving"); got != "kind.local,ko.local,dev.local" {
		t.Errorf("config-deployment registries-skipping-tag-resolving = %v", got)
	}
	svc, err := cluster.RunKubectl(ctx, "-n", "istio-system", "get", "service", "istio-ingressgateway", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var gateway map[string]any
	_ = json.Unmarshal(svc, &gateway)
	if field(gateway, "spec", "type") != "NodePort" {
		t.Errorf("gateway Service type %v", field(gateway, "spec", "type"))
	}
	// cluster.ingressNodePort is kind's alone; here the API server picks.
	foundNodePort := false
	ports, _ := field(gateway, "spec", "ports").([]any)
	for _, p := range ports {
		if n, _ := field(p, "nodePort").(float64); field(p, "name") == "http2" && n >= 30000 && n <= 32767 {
			foundNodePort = true
		}
	}
	if !foundNodePort {
		t.Errorf("the gateway's http2 port has no NodePort: %v", ports)
	}

	again, _ := st.up("platform: second up (no-op)")
	assertNoChanges(t, "second up", again)
	destroy(t, st, "platform: destroy")
}
