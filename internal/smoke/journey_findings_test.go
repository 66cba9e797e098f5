//go:build slow

package smoke_test

import (
	"strings"
	"testing"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/labtest"
	"github.com/modelrollouts/modelrollouts/stacks"
)

// `pulumi stack output --json` prints the kind stack's kubeconfig as
// "[secret]": the shadow check took that for a kubeconfig ("parse the
// stack's kubeconfig output: ... cannot unmarshal array") and `make smoke
// STACK=shadow` failed on every kind stack. It now counts the shadow's two
// pods through the ingress.
func TestShadowWithTheKubeconfigPrintedAsSecretIsCountedThroughTheIngress(t *testing.T) {
	prim := labtest.Version{Name: "v1", Target: "primary", Replicas: 2}
	shad := labtest.Version{Name: "v2", Target: "shadow", Bias: 0.5, Replicas: 2}
	lab := labtest.NewShadow(t, prim, shad, 50, 501)
	lab.Outputs.Kubeconfig = stacks.SecretPlaceholder
	r := run(t, lab, fast())
	if !r.Pass {
		t.Fatalf("a correct shadow whose kubeconfig output is %q failed: %v", stacks.SecretPlaceholder, r.Failures())
	}
}

// With the ingress down, smoke printed the same connection error once per
// host, three times each, and no hint of what to do. It now names the
// unreachable ingress once, with `make up` and `make diagnose`.
func TestAnUnreachableIngressIsNamedOnceWithAHint(t *testing.T) {
	lab := labtest.NewCanary(t, versions("v1", "v2"), map[string]int{"v1": 90, "v2": 10}, 502)
	lab.Outputs.IngressURL = "http://127.0.0.1:1" // nothing listens on port 1
	p := fast()
	p.WaitTimeout = 500 * time.Millisecond
	r := run(t, lab, p)
	if r.Pass || r.Unreachable == "" {
		t.Fatalf("an unreachable ingress: pass %v, unreachable %q", r.Pass, r.Unreachable)
	}
	text := reportText(r)
	if n := strings.Count(text, r.Unreachable); n != 1 {
		t.Errorf("the connection error %q appears %d times, want once:\n%s", r.Unreachable, n, text)
	}
	for _, want := range []string{"http://127.0.0.1:1", "make up STACK=", "make diagnose STACK=", "3 tried"} {
		if !strings.Contains(text, want) {
			t.Errorf("the report lacks %q:\n%s", want, text)
		}
	}
	if r.Sent != 0 {
		t.Errorf("sent %d requests to an unreachable ingress", r.Sent)
	}
}
