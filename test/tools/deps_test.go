package tools

import (
	"os/exec"
	"strings"
	"testing"
)

// The pulumi-kubernetes SDK's helm and yaml packages import every typed
// Kubernetes package it has: 440,000 lines that cost a cold make test 6
// minutes on two cores and every test binary its size, for two resources
// internal/pulumik8s declares on its own. This keeps them out.
func TestTheProgramCompilesOnlyTheTypedKubernetesPackagesItUses(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-test", "-tags", "integration,e2e,smoke,slow,journey,models", "../../...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const sdk = "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	var typed []string
	for _, pkg := range strings.Fields(string(out)) {
		rest, ok := strings.CutPrefix(pkg, sdk+"/")
		if !ok {
			continue
		}
		if strings.HasPrefix(rest, "helm") || strings.HasPrefix(rest, "yaml") {
			t.Errorf("%s is compiled: it imports every typed package; use internal/pulumik8s", pkg)
		}
		typed = append(typed, rest)
	}
	if len(typed) > 12 {
		t.Errorf("%d pulumi-kubernetes packages compiled (%s); the program uses about 6", len(typed), strings.Join(typed, " "))
	}
}
