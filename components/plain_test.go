package components_test

import (
	"reflect"
	"testing"

	"github.com/modelrollouts/modelrollouts/components"
)

func TestPlainRendersAStructThroughItsOwnJSONNames(t *testing.T) {
	type weight struct {
		Revision string `json:"revisionName"`
		Percent  *int   `json:"percent,omitempty"`
		Latest   bool   `json:"latestRevision"`
	}
	ten := 10
	got := components.Plain[map[string]any](weight{Revision: "v2", Percent: &ten})
	want := map[string]any{"revisionName": "v2", "percent": float64(10), "latestRevision": false}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Plain = %#v, want %#v", got, want)
	}
	list := components.Plain[any]([]weight{{Revision: "v1"}})
	if _, ok := list.([]any); !ok {
		t.Errorf("Plain[any] of a slice = %T, want []any (what a CustomResource's untyped field takes)", list)
	}
}
