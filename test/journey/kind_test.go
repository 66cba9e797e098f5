//go:build journey

package journey

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	kindv1alpha4 "sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"

	"github.com/modelrollouts/modelrollouts/stacks"
)

// kindStandIn is the `kind` on the engine's PATH (no Docker here): the
// program's KindCluster runs `kind create cluster --config -` then `kind
// get kubeconfig` through pulumi-command, and this answers them with the
// lab's cluster. It keeps the config kind was given (DIR/NAME/config.yaml),
// hands out DIR/NAME/kubeconfig, which the journey writes, and records a
// delete (DIR/NAME/deleted). Anything else fails, naming itself.
const kindStandIn = `#!/bin/sh
set -eu
dir="$KIND_STANDIN_DIR"
name=""
prev=""
for a in "$@"; do
  if [ "$prev" = "--name" ]; then name="$a"; fi
  prev="$a"
done
[ -n "$name" ] || { echo "kind stand-in: no --name in: $*" >&2; exit 2; }
case "$1 $2" in
"create cluster")
  [ -d "$dir/$name" ] || { echo "kind stand-in: no lab for cluster $name" >&2; exit 1; }
  cat >"$dir/$name/config.yaml"
  echo "Creating cluster \"$name\" ... (kind stand-in: the journey's kwok cluster)" >&2 ;;
"get kubeconfig") cat "$dir/$name/kubeconfig" ;;
"delete cluster") date >"$dir/$name/deleted"; echo "Deleting cluster \"$name\" ... (kind stand-in)" >&2 ;;
*) echo "kind stand-in: $* is not stood in" >&2; exit 2 ;;
esac
`

// writeKindStandIn puts kind on DIR/bin and returns DIR/bin.
func writeKindStandIn(dir string) (string, error) {
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return "", err
	}
	return bin, os.WriteFile(filepath.Join(bin, "kind"), []byte(kindStandIn), 0o755)
}

// kindClusterDir is where the kind stand-in keeps cluster name's files.
func kindClusterDir(name string) string { return filepath.Join(tier.work, "kind", name) }

// pointKindStackAtLab keeps the stack's committed kind cluster: kind is
// stood in, so `kind get kubeconfig` hands the program the lab's cluster
// and the stack's kubeconfig output is the secret a kind user's stack has.
// The lab's ingress must be on the stack's kind host port. Only the
// platform (installed by the lab, not the stack) and the image (built by
// Docker) are changed, as pointStackAtLab does.
func (l *lab) pointKindStackAtLab() {
	l.t.Helper()
	cfg := l.makeStack()
	if cfg.Cluster.Type != stacks.ClusterKind {
		fatalf(l.t, "stack %s is a %s cluster, not kind", l.stack, cfg.Cluster.Type)
	}
	if want := fmt.Sprintf("http://%s:%d", cfg.Cluster.ListenAddress, cfg.Cluster.IngressHostPort); want != l.url {
		fatalf(l.t, "the lab's ingress is %s, the kind stack's %s", l.url, want)
	}
	for _, kv := range [][2]string{{"platform.istio.install", "false"}, {"platform.knative.install", "false"},
		{"image.ref", modelImage}, {"image.build", "false"}} {
		l.configSet(kv[0], kv[1])
	}
	kubeconfig, err := os.ReadFile(l.cluster.Kubeconfig)
	if err != nil {
		fatalf(l.t, "%v", err)
	}
	dir := kindClusterDir(cfg.Cluster.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fatalf(l.t, "%v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "kubeconfig"), kubeconfig, 0o600); err != nil {
		fatalf(l.t, "%v", err)
	}
	l.standInPlatformOfStackFile()
}

// assertKindCreated checks what kind was asked for: the stack's cluster,
// its ingress NodePort mapped to the host port the outputs name.
func (l *lab) assertKindCreated(cfg *stacks.Config) {
	l.t.Helper()
	raw, err := os.ReadFile(filepath.Join(kindClusterDir(cfg.Cluster.Name), "config.yaml"))
	if err != nil {
		fatalf(l.t, "make up ran no `kind create cluster` for %s: %v", cfg.Cluster.Name, err)
	}
	var c kindv1alpha4.Cluster
	if err := yaml.UnmarshalStrict(raw, &c); err != nil {
		fatalf(l.t, "the config kind was given: %v\n%s", err, raw)
	}
	var maps []string
	for _, n := range c.Nodes {
		for _, m := range n.ExtraPortMappings {
			maps = append(maps, fmt.Sprintf("%s:%d->%d", m.ListenAddress, m.HostPort, m.ContainerPort))
		}
	}
	want := fmt.Sprintf("%s:%d->%d", cfg.Cluster.ListenAddress, cfg.Cluster.IngressHostPort, cfg.Cluster.IngressNodePort)
	if strings.Join(maps, " ") != want {
		errorf(l.t, "kind was asked for port mappings %v, want %s", maps, want)
	}
}
