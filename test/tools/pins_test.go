package tools

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelrollouts/modelrollouts/stacks"
)

// TestKindPinMatchesTheNodeImage: the kind make up installs and e2e.yml
// pins is the release whose node image the stacks default to.
func TestKindPinMatchesTheNodeImage(t *testing.T) {
	got := shellValue(t, filepath.Join(repoRoot(t), "hack/lib/versions.sh"), "KIND_VERSION")
	if got != stacks.KindVersion {
		t.Errorf("hack/lib/versions.sh pins kind %s, stacks.KindVersion (the node image's kind) is %s", got, stacks.KindVersion)
	}
	if !strings.Contains(stacks.DefaultKindNodeImage, "kindest/node:") {
		t.Errorf("DefaultKindNodeImage %q is not a kind node image", stacks.DefaultKindNodeImage)
	}
}

// TestPulumiCLIPinMatchesTheSDK: the CLI make up installs and the one
// make tools builds are the Pulumi SDK's version in go.mod.
func TestPulumiCLIPinMatchesTheSDK(t *testing.T) {
	root := repoRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	var sdk string
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "github.com/pulumi/pulumi/sdk/v3" {
			sdk = f[1]
		}
	}
	if sdk == "" {
		t.Fatal("go.mod requires no github.com/pulumi/pulumi/sdk/v3")
	}
	versions := filepath.Join(root, "hack/lib/versions.sh")
	if cli := shellValue(t, versions, "PULUMI_CLI_VERSION"); "v"+cli != sdk {
		t.Errorf("PULUMI_CLI_VERSION=%s, go.mod requires pulumi/sdk/v3 %s", cli, sdk)
	}
	if built := shellValue(t, versions, "PULUMI_VERSION"); built != sdk {
		t.Errorf("PULUMI_VERSION=%s (make tools), go.mod requires pulumi/sdk/v3 %s", built, sdk)
	}
}
