package harness

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrToolsMissing is wrapped by LoadTools errors, so callers can tell "not
// built here, skip" from other failures with errors.Is.
var ErrToolsMissing = errors.New("integration tools missing")

// Tools holds absolute paths to everything make tools (hack/make-rules/tools.sh) builds.
type Tools struct {
	Dir string // $MODELROLLOUTS_TOOLS_DIR

	Pulumi        string // the pulumi CLI binary
	PulumiRoot    string // dir with bin/pulumi: auto.PulumiCommandOptions{Root: PulumiRoot}
	PulumiVersion string // e.g. "3.274.1"

	ProviderKubernetesDir     string // dir containing pulumi-resource-kubernetes
	ProviderKubernetesVersion string // version the binary is stamped with, e.g. "4.32.0"
	ProviderKubernetesSource  string // module@version it was built from

	KubernetesVersion     string // e.g. "v1.37.2"
	KubeAPIServer         string
	KubeControllerManager string
	KubeScheduler         string
	Kubectl               string
	Etcd                  string
	Kwok                  string
	Kwokctl               string

	IstioChartsDir     string // istio manifests/charts (base, istio-control/istio-discovery, gateway)
	KnativeServingDir  string // knative.dev/serving module (config/core, config/core/300-resources)
	KnativeNetIstioDir string // dir with net-istio.yaml (or the net-istio module when the proxy serves it)
}

// ProviderKubernetesBinary is the provider plugin executable.
func (t Tools) ProviderKubernetesBinary() string {
	return filepath.Join(t.ProviderKubernetesDir, "pulumi-resource-kubernetes")
}

// ToolsDir is where make tools (hack/make-rules/tools.sh) caches binaries and writes env.sh.
func ToolsDir() string {
	if d := os.Getenv("MODELROLLOUTS_TOOLS_DIR"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = "/root"
	}
	return filepath.Join(home, ".cache", "modelrollouts", "tools")
}

// LoadTools reads $MODELROLLOUTS_TOOLS_DIR/env.sh; a non-empty environment
// variable of the same name overrides each entry. It fails (wrapping
// ErrToolsMissing) with one message naming everything missing and the fix,
// suitable as a t.Skip reason.
func LoadTools() (Tools, error) {
	dir := ToolsDir()
	vals, err := readEnvFile(filepath.Join(dir, "env.sh"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return Tools{}, fmt.Errorf("%w: reading %s/env.sh: %v", ErrToolsMissing, dir, err)
	}
	get := func(k string) string {
		if v := os.Getenv(k); v != "" {
			return v
		}
		return vals[k]
	}
	t := Tools{
		Dir:                       dir,
		Pulumi:                    get("PULUMI"),
		PulumiRoot:                get("PULUMI_ROOT"),
		PulumiVersion:             get("PULUMI_VERSION"),
		ProviderKubernetesDir:     get("PULUMI_PROVIDER_KUBERNETES"),
		ProviderKubernetesVersion: get("PULUMI_PROVIDER_KUBERNETES_VERSION"),
		ProviderKubernetesSource:  get("PULUMI_PROVIDER_KUBERNETES_SOURCE"),
		KubernetesVersion:         get("KUBERNETES_VERSION"),
		KubeAPIServer:             get("KUBE_APISERVER"),
		KubeControllerManager:     get("KUBE_CONTROLLER_MANAGER"),
		KubeScheduler:             get("KUBE_SCHEDULER"),
		Kubectl:                   get("KUBECTL"),
		Etcd:                      get("ETCD"),
		Kwok:                      get("KWOK"),
		Kwokctl:                   get("KWOKCTL"),
		IstioChartsDir:            get("ISTIO_CHARTS_DIR"),
		KnativeServingDir:         get("KNATIVE_SERVING_DIR"),
		KnativeNetIstioDir:        get("KNATIVE_NET_ISTIO_DIR"),
	}
	if t.PulumiRoot == "" && t.Pulumi != "" {
		t.PulumiRoot = filepath.Dir(filepath.Dir(t.Pulumi))
	}

	var missing []string
	exe := func(name, path string) {
		if path == "" {
			missing = append(missing, name+" (unset)")
		} else if st, err := os.Stat(path); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			missing = append(missing, fmt.Sprintf("%s (%s not an executable)", name, path))
		}
	}
	isDir := func(name, path string) {
		if path == "" {
			missing = append(missing, name+" (unset)")
		} else if st, err := os.Stat(path); err != nil || !st.IsDir() {
			missing = append(missing, fmt.Sprintf("%s (%s not a directory)", name, path))
		}
	}
	exe("PULUMI", t.Pulumi)
	exe("PULUMI_PROVIDER_KUBERNETES", t.ProviderKubernetesBinary())
	exe("KUBE_APISERVER", t.KubeAPIServer)
	exe("KUBE_CONTROLLER_MANAGER", t.KubeControllerManager)
	exe("KUBE_SCHEDULER", t.KubeScheduler)
	exe("KUBECTL", t.Kubectl)
	exe("ETCD", t.Etcd)
	exe("KWOK", t.Kwok)
	exe("KWOKCTL", t.Kwokctl)
	isDir("ISTIO_CHARTS_DIR", t.IstioChartsDir)
	isDir("KNATIVE_SERVING_DIR", t.KnativeServingDir)
	isDir("KNATIVE_NET_ISTIO_DIR", t.KnativeNetIstioDir)
	if t.ProviderKubernetesVersion == "" {
		missing = append(missing, "PULUMI_PROVIDER_KUBERNETES_VERSION (unset)")
	}
	if len(missing) > 0 {
		return t, fmt.Errorf("%w in %s: %s; build them with make tools (outside the netns)",
			ErrToolsMissing, dir, strings.Join(missing, ", "))
	}
	return t, nil
}

// readEnvFile parses the `export KEY='value'` lines make tools (hack/make-rules/tools.sh) writes.
func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	vals := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		if len(v) >= 2 && (v[0] == '\'' || v[0] == '"') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		vals[k] = v
	}
	return vals, sc.Err()
}
