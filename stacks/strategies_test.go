package stacks

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// methodName is the StrategyCases method of a strategy: canary -> Canary.
func methodName(s Strategy) string { return strings.ToUpper(string(s[:1])) + string(s[1:]) }

func TestStrategyCasesHasAMethodPerStrategyAndNoOther(t *testing.T) {
	iface := reflect.TypeFor[StrategyCases[int]]()
	var methods []string
	for i := range iface.NumMethod() {
		methods = append(methods, iface.Method(i).Name)
	}
	var want []string
	for _, s := range Strategies {
		want = append(want, methodName(s))
	}
	slices.Sort(want)
	if !slices.Equal(methods, want) {
		t.Errorf("StrategyCases methods = %v, want one per strategy in Strategies: %v", methods, want)
	}
}

// caseRecorder answers the name of the method ByStrategy called.
type caseRecorder struct{}

func (caseRecorder) Canary() string { return "Canary" }
func (caseRecorder) Shadow() string { return "Shadow" }

func TestByStrategyCallsTheMethodNamedAfterEachStrategy(t *testing.T) {
	for _, s := range Strategies {
		got, err := ByStrategy[string](s, caseRecorder{})
		if err != nil || got != methodName(s) {
			t.Errorf("ByStrategy(%s) = %q, %v; want %q", s, got, err, methodName(s))
		}
	}
	_, err := ByStrategy[string]("rolling", caseRecorder{})
	if err == nil || !strings.Contains(err.Error(), `unknown strategy "rolling", want `+orList(StrategyNames())) {
		t.Errorf("unknown strategy: err = %v, want it to name the allowed strategies", err)
	}
}

func TestEveryStrategyConstantIsInStrategies(t *testing.T) {
	var consts []Strategy
	for _, file := range parsePackage(t, ".") {
		ast.Inspect(file, func(n ast.Node) bool {
			spec, ok := n.(*ast.ValueSpec)
			if !ok || spec.Type == nil || types(spec.Type) != "Strategy" {
				return true
			}
			for _, v := range spec.Values {
				if lit, ok := v.(*ast.BasicLit); ok {
					consts = append(consts, Strategy(strings.Trim(lit.Value, `"`)))
				}
			}
			return true
		})
	}
	slices.Sort(consts)
	want := slices.Sorted(slices.Values(Strategies))
	if !slices.Equal(consts, want) {
		t.Errorf("constants of type Strategy = %v, Strategies = %v: add the new one to Strategies", consts, want)
	}
}

func types(e ast.Expr) string {
	if id, ok := e.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

// TestEveryPlaceThatDependsOnTheStrategyIsInTheGuide holds the guide and
// the code to each other: every type with a method named after a strategy
// (a StrategyCases implementation) has one for every strategy and is in
// the guide, every comparison with a strategy constant outside
// strategies.go is in the guide's list of one-strategy places, and every
// place the guide names exists.
func TestEveryPlaceThatDependsOnTheStrategyIsInTheGuide(t *testing.T) {
	root := ".."
	guide := guideSection(t, filepath.Join(root, "docs", "architecture.md"), "## How to add a strategy")
	cases, comparisons := strategyPlaces(t, root)

	for place, methods := range cases {
		for _, s := range Strategies {
			if !slices.Contains(methods, methodName(s)) {
				t.Errorf("%s has no %s method: every StrategyCases implementation handles every strategy", place, methodName(s))
			}
		}
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\s*- `([^`]+\\.go)`((?: `[A-Za-z]+`,?)*)").FindAllStringSubmatch(guide, -1) {
		path := m[1]
		if _, err := os.Stat(filepath.Join(root, path)); err != nil {
			t.Errorf("the guide names %s, which does not exist", path)
		}
		typeNames := regexp.MustCompile("`([A-Za-z]+)`").FindAllStringSubmatch(m[2], -1)
		if len(typeNames) == 0 {
			documented[path] = true
		}
		for _, tn := range typeNames {
			documented[path+" "+tn[1]] = true
		}
	}
	for place := range cases {
		if !documented[place] {
			t.Errorf("%s dispatches on the strategy but the guide (docs/architecture.md, How to add a strategy) does not list it as - `%s` `%s`",
				place, strings.Fields(place)[0], strings.Fields(place)[1])
		}
	}
	for path := range comparisons {
		if !documented[path] {
			t.Errorf("%s compares with a strategy constant but the guide does not list it as - `%s`", path, path)
		}
	}
	for place := range documented {
		path, typ, isCase := strings.Cut(place, " ")
		if isCase && cases[place] == nil {
			t.Errorf("the guide lists %s in %s, which has no strategy methods there", typ, path)
		}
		if !isCase && !comparisons[path] {
			t.Errorf("the guide lists %s as comparing with a strategy, and it does not", path)
		}
	}
}

// strategyPlaces finds, in the repository's non-test Go files, the types
// with a method named after a strategy ("path Type" -> method names) and
// the files that compare with a Strategy constant (== or case).
func strategyPlaces(t *testing.T, root string) (map[string][]string, map[string]bool) {
	t.Helper()
	strategyMethods := map[string]bool{}
	strategyConsts := map[string]bool{}
	for _, s := range Strategies {
		strategyMethods[methodName(s)] = true
		strategyConsts["Strategy"+methodName(s)] = true
	}
	isConst := func(e ast.Expr) bool {
		switch e := e.(type) {
		case *ast.Ident:
			return strategyConsts[e.Name]
		case *ast.SelectorExpr:
			return strategyConsts[e.Sel.Name]
		}
		return false
	}
	cases := map[string][]string{}
	comparisons := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		file, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncDecl:
				if n.Recv != nil && strategyMethods[n.Name.Name] {
					place := rel + " " + receiverType(n.Recv.List[0].Type)
					cases[place] = append(cases[place], n.Name.Name)
				}
			case *ast.BinaryExpr:
				if (n.Op == token.EQL || n.Op == token.NEQ) && (isConst(n.X) || isConst(n.Y)) && rel != "stacks/strategies.go" {
					comparisons[rel] = true
				}
			case *ast.CaseClause:
				if rel != "stacks/strategies.go" && slices.ContainsFunc(n.List, isConst) {
					comparisons[rel] = true
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return cases, comparisons
}

// receiverType names a method's receiver type: T, *T and T[X] are T.
func receiverType(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.StarExpr:
		return receiverType(e.X)
	case *ast.IndexExpr:
		return receiverType(e.X)
	case *ast.Ident:
		return e.Name
	}
	return ""
}

// guideSection is the text under heading, up to the next heading of the
// same level.
func guideSection(t *testing.T, path, heading string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	i := strings.Index(doc, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("%s has no section %q", path, heading)
	}
	section := doc[i+len(heading)+2:]
	if j := strings.Index(section, "\n## "); j >= 0 {
		section = section[:j]
	}
	return section
}

func parsePackage(t *testing.T, dir string) []*ast.File {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return files
}
