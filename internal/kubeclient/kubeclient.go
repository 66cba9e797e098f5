// Package kubeclient makes a client-go clientset for the cluster a stack
// deployed to: from the kubeconfig the stack exports (kind stacks), the
// file an existing cluster's config names, or else the ambient one
// ($KUBECONFIG, ~/.kube/config), optionally at a context. Every tool that reads the cluster (smoke, the rollout gate, the
// shadow report) gets its client here.
package kubeclient

import (
	"fmt"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Source says where the cluster's credentials come from.
type Source struct {
	// Kubeconfig is the text of a kubeconfig (a stack's kubeconfig output).
	// Empty means Path, or else the ambient kubeconfig.
	Kubeconfig string
	// Path is a kubeconfig file (an existing cluster's cluster.kubeconfig).
	Path string
	// Context selects a context of the kubeconfig; empty means its current.
	Context string
}

// RESTConfig resolves the source to a client config.
func (s Source) RESTConfig() (*rest.Config, error) {
	overrides := &clientcmd.ConfigOverrides{CurrentContext: s.Context}
	if s.Kubeconfig != "" {
		raw, err := clientcmd.Load([]byte(s.Kubeconfig))
		if err != nil {
			return nil, fmt.Errorf("parse the stack's kubeconfig output: %w", err)
		}
		cfg, err := clientcmd.NewDefaultClientConfig(*raw, overrides).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("use the stack's kubeconfig output: %w", err)
		}
		return cfg, nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = s.Path
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err != nil {
		if s.Path != "" {
			return nil, fmt.Errorf("load the kubeconfig %s: %w", s.Path, err)
		}
		return nil, fmt.Errorf("load the ambient kubeconfig ($KUBECONFIG or ~/.kube/config): %w", err)
	}
	return cfg, nil
}

// New returns a clientset for the source.
func New(s Source) (kubernetes.Interface, error) {
	cfg, err := s.RESTConfig()
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return cs, nil
}
