package review

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelrollouts/modelrollouts/internal/smoke"
	"github.com/modelrollouts/modelrollouts/stacks"
)

var update = flag.Bool("update", false, "rewrite the golden files from the current output")

// build reviews one fixture: testdata/NAME/{base,head,renders,previews}
// are what hack/make-rules/review.sh gathers for a change.
func build(t *testing.T, name string) *Review {
	t.Helper()
	dir := filepath.Join("testdata", name)
	r, err := Build(Input{
		BaseLabel:   "origin/main",
		BaseDir:     filepath.Join(dir, "base"),
		HeadDir:     filepath.Join(dir, "head"),
		RendersDir:  filepath.Join(dir, "renders"),
		PreviewsDir: filepath.Join(dir, "previews"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// golden compares got with testdata/NAME/FILE (go test -update rewrites it).
func golden(t *testing.T, name, file string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name, file)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/review -update once to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./internal/review -update rewrites it)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestPercentChangeReviewsAsItsComment(t *testing.T) {
	// The plan is smoke's own: the N a smoke run of 80/20 sends.
	devRequests := smoke.PlanCanary([]smoke.Version{
		{Name: "v1", Share: 0.8, OwnHost: true, ServesUsers: true},
		{Name: "v2", Share: 0.2, OwnHost: true, ServesUsers: true},
	}, smoke.DefaultParams).UserRequests
	r := build(t, "percent-change")
	if r.Failed() {
		t.Fatal("a valid change fails the review")
	}
	var md, txt bytes.Buffer
	if err := r.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := r.Text(&txt); err != nil {
		t.Fatal(err)
	}
	golden(t, "percent-change", "comment.md", md.Bytes())
	golden(t, "percent-change", "review.txt", txt.Bytes())

	// What the golden file must say, checked on its own so a careless
	// -update cannot bless a wrong comment.
	for _, want := range []string{
		Marker + "\n",
		"| `v1` | 90% → **80%** | http://v1-model.models.example.com | 1 / – | – |",
		"| `v2` | 10% → **20%** | http://v2-model.models.example.com | – / – | – |",
		fmt.Sprintf("20%% canary: %d requests catch a 5-point error", devRequests),
		"kind cluster, which exists only on the machine that ran `make up STACK=dev`",
		"2 to update, 41 to same: `update kubernetes:serving.knative.dev/v1:Configuration model-v1`, `update kubernetes:serving.knative.dev/v1:Route model`.",
		"| `v1` | 80% → **60%** | http://v1-model.models.models.example.org | 2 / – → **3 / –** | – | ghcr.io/example/model-echo:1.0.0 |",
		"```diff\n--- dev@origin/main",
		"unchanged: `shadow`",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("the comment lacks %q", want)
		}
	}
	if strings.Contains(md.String(), "### ✏️ `shadow`") {
		t.Error("the comment has a section for the unchanged shadow stack")
	}
}

func TestInvalidStackFailsAndShowsItsErrors(t *testing.T) {
	r := build(t, "invalid-stack")
	if !r.Failed() {
		t.Fatal("an invalid stack passes the review")
	}
	var md, txt bytes.Buffer
	if err := r.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := r.Text(&txt); err != nil {
		t.Fatal(err)
	}
	golden(t, "invalid-stack", "comment.md", md.Bytes())
	golden(t, "invalid-stack", "review.txt", txt.Bytes())
	for _, want := range []string{
		"**This check fails: a stack is invalid.**",
		"### ❌ `shadow`: invalid",
		"modelrollouts:shadow.mirrorPercent: 150 is out of range, want 0 to 100",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("the comment lacks %q", want)
		}
	}
	if strings.Contains(md.String(), "Smoke plan") {
		t.Error("an invalid stack gets a smoke plan")
	}
	if !strings.Contains(txt.String(), "### stack shadow: INVALID\ninvalid stack config (1 problem):") {
		t.Errorf("the text review does not show the errors under the stack:\n%s", txt.String())
	}
}

func TestSmokePlanUsesSmokesOwnSampleSizes(t *testing.T) {
	r := build(t, "percent-change")
	for _, s := range r.Stacks {
		if s.Name == "dev" && !strings.Contains(s.SmokePlan, "Split: v1 80%, v2 20%.") {
			t.Errorf("dev smoke plan: %q", s.SmokePlan)
		}
	}
}

func TestFenceOutlastsBackticksInTheText(t *testing.T) {
	var b strings.Builder
	writeFenced(&b, "diff", "+ a ``` inside")
	if !strings.HasPrefix(b.String(), "````diff\n") {
		t.Errorf("fence not lengthened: %q", b.String())
	}
}

func TestVersionTableAndSmokePlanFollowTheStrategyKeyNotWhichBlockIsSet(t *testing.T) {
	ptr := func(v int) *int { return &v }
	mirror := 25.0
	c := &stacks.Config{
		Strategy: stacks.StrategyShadow,
		Image:    stacks.ImageConfig{Ref: "ghcr.io/example/model-echo:1"},
		// A leftover canary block (validation reports it) must not be read.
		Canary: &stacks.CanaryConfig{Versions: []stacks.CanaryVersion{
			{ModelSettings: stacks.ModelSettings{Name: "old"}, Percent: ptr(100)},
		}},
		Shadow: &stacks.ShadowConfig{MirrorPercent: &mirror, Versions: []stacks.ShadowVersion{
			{ModelSettings: stacks.ModelSettings{Name: "v1"}, Role: stacks.RolePrimary},
			{ModelSettings: stacks.ModelSettings{Name: "v2"}, Role: stacks.RoleShadow},
		}},
	}
	set, err := facts(t.TempDir(), c)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(set.order, ", "), "v1 (primary), v2 (shadow)"; got != want {
		t.Errorf("version rows = %q, want %q", got, want)
	}
	if got := set.byName["v2 (shadow)"].Mirror; got != "25%" {
		t.Errorf("shadow's mirror cell = %q, want 25%%", got)
	}
	if plan := smokePlan(c); !strings.HasPrefix(plan, "25% mirror:") {
		t.Errorf("smoke plan = %q, want the shadow's (25%% mirror: ...)", plan)
	}
}
