package istio_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/modelrollouts/modelrollouts/stacks"
)

// TestIstioIsTheReleaseTheChartsInstall: the translation proven here is
// the one the charts deploy, as near as the module proxy allows. The proxy
// serves istio.io/istio only as pseudo-versions (Istio's tags have no "v"),
// so the pin is a commit of the charts' release branch: hack/lib/versions.sh
// (ISTIO_MODVER, also the integration tier's offline charts) must name the
// module this test module builds against, and its VERSION file must be the
// charts' minor release.
func TestIstioIsTheReleaseTheChartsInstall(t *testing.T) {
	versions, err := os.ReadFile(filepath.Join(repoRoot, "hack", "lib", "versions.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^ISTIO_MODVER=(\S+)`).FindSubmatch(versions)
	if m == nil {
		t.Fatal("hack/lib/versions.sh pins no ISTIO_MODVER")
	}
	out, err := exec.Command("go", "list", "-m", "-json", "istio.io/istio").Output()
	if err != nil {
		t.Fatalf("go list -m istio.io/istio: %v", err)
	}
	var mod struct{ Version, Dir string }
	if err := json.Unmarshal(out, &mod); err != nil {
		t.Fatal(err)
	}
	if mod.Version != string(m[1]) {
		t.Errorf("test/istio builds against istio.io/istio %s, hack/lib/versions.sh pins %s", mod.Version, m[1])
	}
	release, err := os.ReadFile(filepath.Join(mod.Dir, "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	minor := strings.Join(strings.SplitN(stacks.DefaultIstioVersion, ".", 3)[:2], ".")
	if got := strings.TrimSpace(string(release)); got != minor {
		t.Errorf("istio.io/istio %s is release %s; the charts install %s", mod.Version, got, stacks.DefaultIstioVersion)
	}
}
