package smoke

import (
	"fmt"

	"github.com/modelrollouts/modelrollouts/internal/kubeclient"
	"github.com/modelrollouts/modelrollouts/internal/measure"
	"github.com/modelrollouts/modelrollouts/stacks"
)

// shadowPods is how the shadow's counters are read from every one of its
// pods: through the Kubernetes API where a kubeconfig is at hand, else
// through the ingress, scraping until every replica the outputs name has
// answered.
func shadowPods(c *measure.Client, o *stacks.Outputs, p Params) (measure.Pods, error) {
	v := o.Versions[o.Shadow]
	via := p.Pods
	if via == "" || via == PodsAuto {
		via = PodsIngress
		// "[secret]" is what `pulumi stack output --json` prints for the
		// kubeconfig it was not asked to show: no kubeconfig here.
		if o.Kubeconfig != "" && o.Kubeconfig != stacks.SecretPlaceholder {
			via = PodsKubernetes
		}
	}
	if via == PodsIngress {
		return &measure.IngressPods{Client: c, Host: v.Host, Replicas: replicas(o, o.Shadow)}, nil
	}
	kubeconfig := o.Kubeconfig
	if kubeconfig == stacks.SecretPlaceholder {
		kubeconfig = "" // the ambient one
	}
	cs, err := kubeclient.New(kubeclient.Source{Kubeconfig: kubeconfig})
	if err != nil {
		return nil, fmt.Errorf("read the shadow's pods through the Kubernetes API: %w", err)
	}
	if o.Namespace == "" {
		return nil, fmt.Errorf("stack output %s is empty: the shadow's pods cannot be listed", stacks.OutputNamespace)
	}
	sel := v.PodSelector
	if sel == "" {
		sel = "version=" + o.Shadow // the label every deployment of ours puts on a version's pods
	}
	return &measure.KubePods{Client: cs, Namespace: o.Namespace, Selector: sel}, nil
}

// replicas is the version's fixed pod count from the outputs (1 when they
// do not say).
func replicas(o *stacks.Outputs, version string) int {
	if r := o.Versions[version].Replicas; r != nil && *r > 0 {
		return *r
	}
	return 1
}
