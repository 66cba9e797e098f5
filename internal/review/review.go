// Package review turns what hack/make-rules/review.sh gathered about a
// change (each stack file at the base and in the working tree, each side's
// rendered objects and their diff, optional `pulumi preview` results) into
// the review a PR reader needs: per changed stack, a before→after table of
// its versions, the smoke plan for the new numbers, the preview summary and
// the object diff. One model, two printers: text for `make review`,
// Markdown for the PR comment (`make review FORMAT=markdown`).
package review

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/modelrollouts/modelrollouts/internal/imagetag"
	"github.com/modelrollouts/modelrollouts/internal/smoke"
	"github.com/modelrollouts/modelrollouts/stacks"
)

// Input names what review.sh gathered.
type Input struct {
	// BaseLabel is the base as the user named it (origin/main, HEAD~1).
	BaseLabel string
	// BaseDir and HeadDir are the two checkouts (Pulumi.<stack>.yaml files,
	// image build contexts).
	BaseDir, HeadDir string
	// RendersDir holds, per stack, <stack>.base.yaml / <stack>.head.yaml
	// (rendered objects) or <stack>.base.err / <stack>.head.err (why the
	// render failed: the validation errors), and <stack>.diff.
	RendersDir string
	// PreviewsDir holds <stack>.json (`pulumi preview --json`) and
	// <stack>.err for the stacks previewed with credentials; may be empty.
	PreviewsDir string
}

// Status of a stack in a review.
type Status string

// Statuses, in the order a review lists them.
const (
	Invalid   Status = "invalid"
	Changed   Status = "changed"
	Added     Status = "added"
	Removed   Status = "removed"
	Unchanged Status = "unchanged"
)

// Review is the whole review of one change.
type Review struct {
	BaseLabel string
	Stacks    []Stack
}

// Stack is one stack's part of the review.
type Stack struct {
	Name   string
	Status Status
	// Summary says what the stack is after the change: strategy and cluster.
	Summary string
	// Errors are the render's own words when the stack is invalid.
	Errors string
	// BaseNote explains a base that could not be read or rendered.
	BaseNote string
	Versions []VersionChange
	// SmokePlan says what `make smoke` will send and can catch.
	SmokePlan string
	// Preview is the `pulumi preview` summary, or why there is none.
	Preview Preview
	Diff    string
}

// VersionChange is one version before and after; nil means absent.
type VersionChange struct {
	Name          string
	Before, After *VersionFacts
}

// VersionFacts are the numbers a reviewer checks for one version.
type VersionFacts struct {
	Percent string // share of user traffic
	TagURL  string // the version's own URL
	Scale   string // minScale / maxScale (canary)
	Mirror  string // share of user requests mirrored to it (shadow)
	Image   string
}

// Preview is a `pulumi preview` summary, or the reason there is none.
type Preview struct {
	// Ran is true when a preview was attempted with credentials.
	Ran bool
	// Counts per operation (create, update, delete, replace, same).
	Counts map[string]int
	// Changes lists "op type name" for every step that is not "same".
	Changes []string
	// Note is the sentence shown instead of (or after) the counts.
	Note string
}

// Failed reports whether the review must fail the check: a stack that is
// invalid after the change.
func (r *Review) Failed() bool {
	for _, s := range r.Stacks {
		if s.Status == Invalid {
			return true
		}
	}
	return false
}

// Build reads what review.sh gathered and computes the review.
func Build(in Input) (*Review, error) {
	names, err := stackNames(in)
	if err != nil {
		return nil, err
	}
	r := &Review{BaseLabel: in.BaseLabel}
	for _, name := range names {
		s, err := buildStack(in, name)
		if err != nil {
			return nil, fmt.Errorf("stack %s: %w", name, err)
		}
		r.Stacks = append(r.Stacks, s)
	}
	order := map[Status]int{Invalid: 0, Changed: 1, Added: 2, Removed: 3, Unchanged: 4}
	sort.SliceStable(r.Stacks, func(i, j int) bool { return order[r.Stacks[i].Status] < order[r.Stacks[j].Status] })
	return r, nil
}

// stackNames are the stacks of either side: Pulumi.<stack>.yaml files.
func stackNames(in Input) ([]string, error) {
	seen := map[string]bool{}
	for _, dir := range []string{in.HeadDir, in.BaseDir} {
		files, err := filepath.Glob(filepath.Join(dir, "Pulumi.*.yaml"))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			seen[strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "Pulumi."), ".yaml")] = true
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

func buildStack(in Input, name string) (Stack, error) {
	s := Stack{Name: name}
	file := "Pulumi." + name + ".yaml"
	headFile, baseFile := filepath.Join(in.HeadDir, file), filepath.Join(in.BaseDir, file)
	headExists, baseExists := exists(headFile), exists(baseFile)

	diff, err := readOptional(filepath.Join(in.RendersDir, name+".diff"))
	if err != nil {
		return s, err
	}
	s.Diff = diff
	headErr, err := readOptional(filepath.Join(in.RendersDir, name+".head.err"))
	if err != nil {
		return s, err
	}
	baseErr, err := readOptional(filepath.Join(in.RendersDir, name+".base.err"))
	if err != nil {
		return s, err
	}

	switch {
	case !headExists:
		s.Status = Removed
	case strings.TrimSpace(headErr) != "":
		s.Status = Invalid
		// cmd/render prefixes its errors with its name; the review is about the stack.
		s.Errors = strings.TrimPrefix(strings.TrimSpace(headErr), "render: ")
	case !baseExists:
		s.Status = Added
	case strings.TrimSpace(diff) == "":
		s.Status = Unchanged
		return s, nil
	default:
		s.Status = Changed
	}
	if baseExists && strings.TrimSpace(baseErr) != "" {
		s.BaseNote = fmt.Sprintf("At %s this stack did not render: %s", in.BaseLabel, firstLines(baseErr, 3))
	}

	var before, after *stacks.Config
	if baseExists {
		if before, err = stacks.LoadFile(baseFile); err != nil {
			before = nil
			if s.BaseNote == "" {
				s.BaseNote = fmt.Sprintf("The %s stack file does not load under the current rules: %s", in.BaseLabel, firstLines(err.Error(), 3))
			}
		}
	}
	if headExists && s.Status != Invalid {
		if after, err = stacks.LoadFile(headFile); err != nil {
			// The render accepted it, the loader does not: show that.
			s.Status, s.Errors = Invalid, err.Error()
			after = nil
		}
	}
	if after != nil {
		s.Summary = summary(after)
	} else if before != nil {
		s.Summary = summary(before)
	}
	if s.Status == Invalid {
		// Nothing would be deployed: the errors are the review.
		s.Diff = ""
		return s, nil
	}
	if s.Versions, err = versionChanges(in.BaseDir, before, in.HeadDir, after); err != nil {
		return s, err
	}
	if after != nil {
		s.SmokePlan = smokePlan(after)
	}
	if s.Status != Removed && s.Status != Invalid {
		if s.Preview, err = readPreview(in.PreviewsDir, name, after); err != nil {
			return s, err
		}
	}
	return s, nil
}

func summary(c *stacks.Config) string {
	cluster := "a kind cluster"
	if c.Cluster.Type == stacks.ClusterExisting {
		cluster = "an existing cluster"
		if c.Cluster.Context != "" {
			cluster += " (context " + c.Cluster.Context + ")"
		}
	}
	return fmt.Sprintf("%s on %s, namespace %s", c.Strategy, cluster, c.Namespace)
}

// versionChanges pairs each version by name across the two configs.
func versionChanges(baseDir string, before *stacks.Config, headDir string, after *stacks.Config) ([]VersionChange, error) {
	b, err := facts(baseDir, before)
	if err != nil {
		return nil, err
	}
	a, err := facts(headDir, after)
	if err != nil {
		return nil, err
	}
	var out []VersionChange
	seen := map[string]bool{}
	add := func(names []string) {
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				out = append(out, VersionChange{Name: n, Before: b.byName[n], After: a.byName[n]})
			}
		}
	}
	add(a.order)
	add(b.order)
	return out, nil
}

type versionSet struct {
	order  []string
	byName map[string]*VersionFacts
}

// facts computes the table cells of every version of a config; dir is the
// checkout whose sources a built image is hashed from.
func facts(dir string, c *stacks.Config) (versionSet, error) {
	set := versionSet{byName: map[string]*VersionFacts{}}
	if c == nil {
		return set, nil
	}
	stackImage, err := imageOf(dir, c)
	if err != nil {
		return set, err
	}
	image := func(own string) string {
		if own != "" {
			return own
		}
		return stackImage
	}
	set, _ = stacks.ByStrategy[versionSet](c.Strategy, strategyFacts{c: c, image: image})
	return set, nil
}

// strategyFacts are the table cells of the strategy's versions.
type strategyFacts struct {
	c *stacks.Config
	// image is a version's image: its own, else the stack's.
	image func(own string) string
}

func (sf strategyFacts) Canary() versionSet {
	c := sf.c
	set := versionSet{byName: map[string]*VersionFacts{}}
	for _, v := range c.Canary.Versions {
		f := &VersionFacts{Percent: "–", TagURL: "–", Mirror: "–", Image: sf.image(v.Image)}
		if v.Percent != nil {
			f.Percent = strconv.Itoa(*v.Percent) + "%"
		}
		if v.Tag != "" {
			f.TagURL = "http://" + stacks.CanaryTagHost(v.Tag, c.Canary.Service, c.Namespace, c.Platform.Knative.Domain)
		}
		f.Scale = optInt(v.MinScale) + " / " + optInt(v.MaxScale)
		set.order = append(set.order, v.Name)
		set.byName[v.Name] = f
	}
	return set
}

func (sf strategyFacts) Shadow() versionSet {
	c := sf.c
	set := versionSet{byName: map[string]*VersionFacts{}}
	for _, v := range c.Shadow.Versions {
		f := &VersionFacts{Percent: "0%", TagURL: "–", Scale: "–", Mirror: "–", Image: sf.image(v.Image)}
		switch v.Role {
		case stacks.RolePrimary:
			f.Percent = "100%"
		case stacks.RoleShadow:
			if c.Shadow.MirrorPercent != nil {
				f.Mirror = strconv.FormatFloat(*c.Shadow.MirrorPercent, 'f', -1, 64) + "%"
			}
		}
		row := v.Name + " (" + v.Role + ")"
		set.order = append(set.order, row)
		set.byName[row] = f
	}
	return set
}

func optInt(p *int) string {
	if p == nil {
		return "–"
	}
	return strconv.Itoa(*p)
}

// imageOf is the stack's model image as the program will name it: the
// ref, or the built repository with its tag (by default the hash of the
// build context's sources, internal/imagetag, as the program computes it).
func imageOf(dir string, c *stacks.Config) (string, error) {
	img := c.Image
	if img.Build == nil || !*img.Build {
		return img.Ref, nil
	}
	tag := img.Tag
	if tag == "" {
		var err error
		if tag, err = imagetag.FromContext(filepath.Join(dir, img.Context)); err != nil {
			return "", fmt.Errorf("image tag: %w", err)
		}
	}
	ref := img.Repository + ":" + tag
	if img.Push {
		ref += " (pushed, deployed by digest)"
	}
	return ref, nil
}

// smokePlan says what `make smoke` will send for the new numbers and what
// it catches: smoke's own plan (internal/smoke) at its default parameters.
func smokePlan(c *stacks.Config) string {
	plan, _ := stacks.ByStrategy[string](c.Strategy, strategySmokePlan{c: c, p: smoke.DefaultParams})
	return plan
}

// strategySmokePlan is the smoke plan's sentence for the strategy.
type strategySmokePlan struct {
	c *stacks.Config
	p smoke.Params
}

func (sp strategySmokePlan) margin() string { return strconv.FormatFloat(100*sp.p.Margin, 'f', -1, 64) }
func (sp strategySmokePlan) power() string  { return fmt.Sprintf("%.0f%% power", 100*sp.p.Power) }

func (sp strategySmokePlan) Canary() string {
	var versions []smoke.Version
	var parts []string
	zero := false
	for _, v := range sp.c.Canary.Versions {
		pct := 0
		if v.Percent != nil {
			pct = *v.Percent
		}
		versions = append(versions, smoke.Version{Name: v.Name, Share: float64(pct) / 100, OwnHost: v.Tag != "", ServesUsers: true})
		parts = append(parts, fmt.Sprintf("%s %d%%", v.Name, pct))
		zero = zero || pct == 0
	}
	pl := smoke.PlanCanary(versions, sp.p)
	leak := ""
	if zero {
		leak = fmt.Sprintf(", and a leak of %.2g%% of users to a 0%% version", 100*pl.DetectableLeak)
	}
	return fmt.Sprintf("%s: %d requests catch a %s-point error in any version's share with %s%s (%d requests in all, with each version's own host). Split: %s. Tests: %s; α = %g for the whole run.",
		canaryHeadline(sp.c.Canary.Versions), pl.UserRequests, sp.margin(), sp.power(), leak, pl.Total(), strings.Join(parts, ", "), pl.Method(), sp.p.Alpha)
}

func (sp strategySmokePlan) Shadow() string {
	if sp.c.Shadow.MirrorPercent == nil {
		return ""
	}
	mirror := *sp.c.Shadow.MirrorPercent
	var primary, shadow string
	for _, v := range sp.c.Shadow.Versions {
		switch v.Role {
		case stacks.RolePrimary:
			primary = v.Name
		case stacks.RoleShadow:
			shadow = v.Name
		}
	}
	pl := smoke.PlanShadow(primary, shadow, mirror/100, sp.p)
	return fmt.Sprintf("%s%% mirror: %d requests catch a %s-point error in the mirrored share with %s; every user answer must come from the primary (%d requests in all). Tests: %s; α = %g for the whole run.",
		strconv.FormatFloat(mirror, 'f', -1, 64), pl.UserRequests, sp.margin(), sp.power(), pl.Total(), pl.Method(), sp.p.Alpha)
}

// canaryHeadline names the split the way a reviewer says it: "10% canary"
// for the smallest share a version has, or "50/50 split".
func canaryHeadline(vs []stacks.CanaryVersion) string {
	var pcts []string
	smallest := -1
	for _, v := range vs {
		if v.Percent == nil {
			continue
		}
		pcts = append(pcts, strconv.Itoa(*v.Percent))
		if *v.Percent > 0 && (smallest < 0 || *v.Percent < smallest) {
			smallest = *v.Percent
		}
	}
	if len(vs) == 2 && smallest > 0 && smallest < 50 {
		return fmt.Sprintf("%d%% canary", smallest)
	}
	return strings.Join(pcts, "/") + " split"
}

// previewJSON is the part of `pulumi preview --json` a review shows.
type previewJSON struct {
	Steps []struct {
		Op  string `json:"op"`
		URN string `json:"urn"`
	} `json:"steps"`
	ChangeSummary map[string]int `json:"changeSummary"`
}

func readPreview(dir, name string, c *stacks.Config) (Preview, error) {
	var p Preview
	if dir != "" {
		data, err := os.ReadFile(filepath.Join(dir, name+".json"))
		if err == nil {
			p.Ran = true
			var pj previewJSON
			if jerr := json.Unmarshal(data, &pj); jerr != nil || pj.ChangeSummary == nil {
				stderr, _ := readOptional(filepath.Join(dir, name+".err"))
				p.Note = "pulumi preview failed: " + firstLines(strings.TrimSpace(stderr+"\n"+string(data)), 5)
				return p, nil
			}
			p.Counts = pj.ChangeSummary
			for _, st := range pj.Steps {
				if st.Op != "same" {
					p.Changes = append(p.Changes, st.Op+" "+urnTypeName(st.URN))
				}
			}
			return p, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return p, err
		}
	}
	switch {
	case c != nil && c.Cluster.Type == stacks.ClusterKind:
		p.Note = fmt.Sprintf("No credentials for this stack's cluster here: it is a kind cluster, which exists only on the machine that ran `make up STACK=%s`; run `make preview STACK=%s` there.", name, name)
	default:
		p.Note = fmt.Sprintf("No credentials for this stack's cluster here (CI: the repository secrets `PULUMI_BACKEND_URL`, `PULUMI_CONFIG_PASSPHRASE` and `REVIEW_KUBECONFIG` are unset); run `make preview STACK=%s` where the cluster is reachable.", name)
	}
	return p, nil
}

// urnTypeName shortens urn:pulumi:stack::project::parent$type::name to "type name".
func urnTypeName(urn string) string {
	parts := strings.Split(urn, "::")
	if len(parts) < 4 {
		return urn
	}
	typ := parts[len(parts)-2]
	if i := strings.LastIndex(typ, "$"); i >= 0 {
		typ = typ[i+1:]
	}
	return typ + " " + parts[len(parts)-1]
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func readOptional(path string) (string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	return string(data), err
}

func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = append(lines[:n], "…")
	}
	return strings.Join(lines, " ")
}
