//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"

	"github.com/modelrollouts/modelrollouts/stacks"
	"github.com/modelrollouts/modelrollouts/test/integration/harness"
)

// TestExistingClusterIngressAddress is Pulumi.cloud.yaml's path: an
// existing cluster, Istio installed by the stack (from the offline
// charts), no cluster.ingressUrl. It used to panic in ingressURL
// (LoadBalancerIngressArrayOutput.Index on an empty list). Three gateways,
// one stack: a NodePort gateway; a LoadBalancer that never gets an
// address; one that gets it while `up` waits, set by the test as a cloud
// controller would.
func TestExistingClusterIngressAddress(t *testing.T) {
	requireTier(t)
	ctx := context.Background()
	var cluster *harness.Cluster
	var err error
	stage("ingress: cluster start", func() {
		cluster, err = harness.StartClusterWith(ctx, t.TempDir(), harness.ClusterOptions{Name: "modelrollouts-ingress"})
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cluster.Stop() })

	stackConfig := func(serviceType string, waitSeconds *int) map[string]string {
		cl := map[string]any{"type": "existing", "kubeconfig": cluster.Kubeconfig}
		if waitSeconds != nil {
			cl["ingressWaitSeconds"] = *waitSeconds
		}
		return config("shadow", map[string]any{
			"namespace": "it-ingress",
			"cluster":   cl,
			"platform": map[string]any{
				"istio":   map[string]any{"install": true, "chartsDir": tier.tools.IstioChartsDir, "gatewayServiceType": serviceType},
				"knative": map[string]any{"install": false},
			},
			"shadow": map[string]any{
				"host": "model.example.com", "mirrorPercent": 50,
				"versions": []map[string]any{
					{"name": "v1", "role": "primary", "target": "model v1"},
					{"name": "v2", "role": "shadow", "target": "model v2"},
				},
			},
		})
	}
	st := newStack(t, "it-ingress", stackConfig("NodePort", nil))

	t.Run("a NodePort gateway finishes the up with the address pending", func(t *testing.T) {
		res, out := upWithOutput(t, st, "ingress: up, NodePort gateway (Istio charts, shadow)")
		svc := kubectlJSONOn(t, cluster, "-n", "istio-system", "get", "service", "istio-ingressgateway")
		nodePort := ""
		ports, _ := field(svc, "spec", "ports").([]any)
		for _, p := range ports {
			if field(p, "name") == "http2" {
				nodePort = fmt.Sprint(field(p, "nodePort"))
			}
		}
		if field(svc, "spec", "type") != "NodePort" || nodePort == "" {
			t.Fatalf("gateway Service %v", field(svc, "spec"))
		}
		assertPending(t, res, out, "NodePort", "node port "+nodePort,
			"pulumi config set --path cluster.ingressUrl http://<node address>:"+nodePort)
	})

	t.Run("a LoadBalancer that never gets an address is pending after the wait", func(t *testing.T) {
		st.setConfig(stackConfig("LoadBalancer", ptrInt(5)))
		start := time.Now()
		res, out := upWithOutput(t, st, "ingress: up, LoadBalancer never addressed (waits 5 s)")
		if took := time.Since(start); took < 5*time.Second {
			t.Errorf("up took %s, less than the 5 s wait", took)
		}
		if got := field(kubectlJSONOn(t, cluster, "-n", "istio-system", "get", "service", "istio-ingressgateway"), "spec", "type"); got != "LoadBalancer" {
			t.Fatalf("gateway Service type %v", got)
		}
		assertPending(t, res, out, "has no load-balancer address after waiting 5s",
			"kubectl -n istio-system get service istio-ingressgateway", "pulumi config set --path cluster.ingressUrl http://<address>")
	})

	t.Run("a LoadBalancer that gets its address while up waits", func(t *testing.T) {
		st.setConfig(stackConfig("LoadBalancer", ptrInt(120)))
		const delay = 8 * time.Second
		patched := make(chan error, 1)
		go func() {
			// What a cloud controller does once its load balancer exists.
			time.Sleep(delay)
			_, err := cluster.RunKubectl(ctx, "-n", "istio-system", "patch", "service", "istio-ingressgateway",
				"--subresource=status", "--type=merge",
				"-p", `{"status":{"loadBalancer":{"ingress":[{"ip":"203.0.113.7"}]}}}`)
			patched <- err
		}()
		start := time.Now()
		res, out := upWithOutput(t, st, "ingress: up, LoadBalancer addressed after 8 s (waits up to 120 s)")
		took := time.Since(start)
		if err := <-patched; err != nil {
			t.Fatalf("set the load balancer status: %v", err)
		}
		if out.IngressURL != "http://203.0.113.7" || out.IngressPending != "" {
			t.Errorf("ingressUrl %q pending %q, want http://203.0.113.7", out.IngressURL, out.IngressPending)
		}
		if took < delay || took > 60*time.Second {
			t.Errorf("up took %s; the address came after %s", took, delay)
		}
		if strings.Contains(res.StdOut+res.StdErr, "ingressUrl is pending") {
			t.Errorf("up warned although the address came:\n%s", res.StdOut)
		}
		// The address is data: waiting for it changed no resource.
		assertNoChanges(t, "up with a longer wait", *res.Summary.ResourceChanges)
		if _, err := stacks.ParseOutputs(mustJSON(t, res.Outputs)); err != nil {
			t.Errorf("smoke would refuse the outputs: %v", err)
		}
	})
	destroy(t, st, "ingress: destroy")
}

// upWithOutput runs `pulumi up` and returns its result (the warnings are
// in StdOut) and the decoded outputs.
func upWithOutput(t *testing.T, st *labStack, stageName string) (auto.UpResult, *stacks.Outputs) {
	t.Helper()
	var res auto.UpResult
	var err error
	stage(stageName, func() { res, err = st.stack.Up(st.ctx, optup.SuppressProgress()) })
	if err != nil {
		t.Fatalf("%s: %v\n%s\n%s", stageName, err, res.StdOut, res.StdErr)
	}
	var out stacks.Outputs
	if err := json.Unmarshal(mustJSON(t, res.Outputs), &out); err != nil {
		t.Fatal(err)
	}
	return res, &out
}

// assertPending checks the up finished with ingressUrl empty, the reason
// in ingressPending and in a warning of the up's own output, and that a
// smoke test refuses the outputs with that reason.
func assertPending(t *testing.T, res auto.UpResult, out *stacks.Outputs, wants ...string) {
	t.Helper()
	if out.IngressURL != "" {
		t.Errorf("ingressUrl %q, want it empty while pending", out.IngressURL)
	}
	for _, want := range wants {
		if !strings.Contains(out.IngressPending, want) {
			t.Errorf("ingressPending %q does not say %q", out.IngressPending, want)
		}
	}
	if !strings.Contains(res.StdOut, "ingressUrl is pending: the ingress gateway Service istio-system/istio-ingressgateway") {
		t.Errorf("the up's output has no warning about the pending address:\n%s", res.StdOut)
	}
	if _, err := stacks.ParseOutputs(mustJSON(t, res.Outputs)); err == nil || !strings.Contains(err.Error(), out.IngressPending) {
		t.Errorf("smoke would say %v, want the pending reason", err)
	}
}

func mustJSON(t *testing.T, outputs auto.OutputMap) []byte {
	t.Helper()
	raw := map[string]any{}
	for k, v := range outputs {
		raw[k] = v.Value
	}
	b, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// kubectlJSONOn reads an object from cluster c.
func kubectlJSONOn(t *testing.T, c *harness.Cluster, args ...string) map[string]any {
	t.Helper()
	out, err := c.RunKubectl(context.Background(), append(args, "-o", "json")...)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := json.Unmarshal(out, &obj); err != nil {
		t.Fatalf("kubectl %v: %v", args, err)
	}
	return obj
}

func ptrInt(n int) *int { return &n }
