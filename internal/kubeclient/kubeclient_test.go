package kubeclient

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: a
  cluster: {server: "https://127.0.0.1:6443"}
- name: b
  cluster: {server: "https://127.0.0.1:7443"}
contexts:
- name: ctx-a
  context: {cluster: a, user: u}
- name: ctx-b
  context: {cluster: b, user: u}
current-context: ctx-a
users:
- name: u
  user: {token: t}
`

func TestStackKubeconfigUsesItsCurrentContextOrTheNamedOne(t *testing.T) {
	cfg, err := Source{Kubeconfig: kubeconfig}.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://127.0.0.1:6443" {
		t.Errorf("host %q, want the current context's server", cfg.Host)
	}
	cfg, err = Source{Kubeconfig: kubeconfig, Context: "ctx-b"}.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://127.0.0.1:7443" {
		t.Errorf("host %q, want ctx-b's server", cfg.Host)
	}
}

func TestAmbientKubeconfigComesFromTheEnvironment(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(path, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", path)
	cfg, err := Source{Context: "ctx-b"}.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://127.0.0.1:7443" {
		t.Errorf("host %q, want ctx-b's server", cfg.Host)
	}
}

func TestBadKubeconfigSaysWhere(t *testing.T) {
	_, err := Source{Kubeconfig: "{not yaml"}.RESTConfig()
	if err == nil || !strings.Contains(err.Error(), "kubeconfig output") {
		t.Fatalf("err = %v, want one naming the stack's kubeconfig output", err)
	}
	_, err = Source{Kubeconfig: kubeconfig, Context: "nope"}.RESTConfig()
	if err == nil {
		t.Fatal("an unknown context must fail")
	}
}

func TestKubeconfigFileWinsOverTheEnvironment(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(path, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "absent"))
	cfg, err := Source{Path: path, Context: "ctx-b"}.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://127.0.0.1:7443" {
		t.Errorf("host %q, want ctx-b's server from %s", cfg.Host, path)
	}
	missing := filepath.Join(t.TempDir(), "missing")
	if _, err := (Source{Path: missing}).RESTConfig(); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("err = %v, want one naming %s", err, missing)
	}
}
