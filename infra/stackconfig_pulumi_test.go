package infra_test

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"

	"github.com/modelrollouts/modelrollouts/stacks"
)

// stacks reads and names config keys without importing the Pulumi SDK, so
// that the tools do not link it; this package links it anyway, so stacks'
// contracts with Pulumi's parsers are held here.

// Keys split the way config.ParseKey splits them.
func TestStackFileKeysParseAsPulumiParsesThem(t *testing.T) {
	for _, s := range []string{
		"modelrollouts:strategy", "modelrollouts:config:strategy", "aws:region", ":x", "x:", ":",
		"a:config:", ":config:b", "a:b:c", "a:config:b:c", "a:b:c:d", "noColon", "", "modelrollouts:canary.versions",
	} {
		ns, name, err := stacks.ParseConfigKey(s)
		k, perr := config.ParseKey(s)
		if (err != nil) != (perr != nil) {
			t.Errorf("%q: stacks err %v, Pulumi err %v", s, err, perr)
			continue
		}
		if err != nil {
			if err.Error() != perr.Error() {
				t.Errorf("%q: message %q, Pulumi's %q", s, err, perr)
			}
			continue
		}
		if ns != k.Namespace() || name != k.Name() {
			t.Errorf("%q: (%q, %q), Pulumi (%q, %q)", s, ns, name, k.Namespace(), k.Name())
		}
	}
}

// Paths are rendered as Pulumi renders a property path, so each can be
// pasted after `pulumi config set --path`.
func TestStackFieldPathsAreWhatPulumiConfigSetPathTakes(t *testing.T) {
	tests := []struct {
		fe   *stacks.FieldError
		want string
	}{
		{stacks.ErrGeneric("m", "percent").ViaFieldIndex("versions", 1).ViaField(stacks.Namespace + ":canary"), "modelrollouts:canary.versions[1].percent"},
		{stacks.ErrGeneric("m", stacks.CurrentField).ViaFieldKey("env", "THREADS").ViaIndex(0).ViaField(stacks.Namespace+":canary", "versions"), "modelrollouts:canary.versions[0].env.THREADS"},
		{stacks.ErrGeneric("m", stacks.CurrentField).ViaFieldKey("env", "LOG_LEVEL=debug").ViaField(stacks.Namespace + ":shadow"), `modelrollouts:shadow.env["LOG_LEVEL=debug"]`},
		{stacks.ErrGeneric("m", stacks.CurrentField).ViaFieldKey("env", `a"b.c`).ViaField(stacks.Namespace + ":shadow"), `modelrollouts:shadow.env["a\"b.c"]`},
		{stacks.ErrGeneric("m", stacks.Namespace+":strategy"), "modelrollouts:strategy"},
	}
	for _, tt := range tests {
		got := tt.fe.Problems()[0].Path
		if got != tt.want {
			t.Errorf("path = %q, want %q", got, tt.want)
		}
		// The part after the key is a property path Pulumi parses back to
		// the same segments and prints the same way.
		_, rest, _ := strings.Cut(got, ":")
		parsed, err := resource.ParsePropertyPath(rest)
		if err != nil {
			t.Errorf("Pulumi cannot parse %q: %v", rest, err)
			continue
		}
		if parsed.String() != rest {
			t.Errorf("Pulumi prints %q as %q", rest, parsed.String())
		}
	}
}
