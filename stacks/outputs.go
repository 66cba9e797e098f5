package stacks

import (
	"encoding/json"
	"fmt"
)

// Stack output names. Each field of Outputs is one stack output, so
// `pulumi stack output --json` decodes straight into Outputs.
const (
	OutputStrategy      = "strategy"
	OutputNamespace     = "namespace"
	OutputIngressURL    = "ingressUrl"
	OutputHost          = "host"
	OutputVersions      = "versions"
	OutputSplit         = "split"
	OutputPrimary       = "primary"
	OutputShadow        = "shadow"
	OutputMirrorPercent = "mirrorPercent"
	OutputKubeconfig    = "kubeconfig"
	OutputBindTo        = "bindTo"
	OutputInCluster     = "inCluster"
	OutputSmokeImage    = "smokeImage"
	OutputRollout       = "rollout"
)

// OutputIngressPending says why ingressUrl is empty, and what to set.
const OutputIngressPending = "ingressPending"

// Outputs are what a deployed stack tells smoke tests: where to send
// requests and what they should observe there.
type Outputs struct {
	Strategy  Strategy `json:"strategy"`
	Namespace string   `json:"namespace"`
	// IngressURL is the address of the mesh's ingress gateway, e.g.
	// http://127.0.0.1:8080 on kind. Requests pick their route by Host.
	IngressURL string `json:"ingressUrl"`
	// IngressPending explains an empty IngressURL: e.g. the gateway's load
	// balancer has no address yet, and how to set cluster.ingressUrl.
	IngressPending string `json:"ingressPending,omitempty"`
	// Host is the Host header of user traffic.
	Host string `json:"host"`
	// Versions describes each model version by name.
	Versions map[string]VersionOutput `json:"versions"`
	// Split is the expected share of user traffic per version (canary).
	Split map[string]int `json:"split,omitempty"`
	// Primary and Shadow name the versions, MirrorPercent the share of user
	// requests copied to the shadow (shadow).
	Primary       string   `json:"primary,omitempty"`
	Shadow        string   `json:"shadow,omitempty"`
	MirrorPercent *float64 `json:"mirrorPercent,omitempty"`
	// Kubeconfig of the kind cluster (a secret; kind stacks only).
	Kubeconfig string `json:"kubeconfig,omitempty"`
	// Rollout is the canary's rollout as deployed (canary.rollout set).
	Rollout *RolloutOutput `json:"rollout,omitempty"`
	// BindTo is shadow.bindTo: whether callers outside the mesh (gateway),
	// inside it (mesh) or both are routed. Empty means gateway (older stacks).
	BindTo string `json:"bindTo,omitempty"`
	// InCluster is how a pod in the cluster reaches the model; nil where
	// the routing applies only through the ingress gateway.
	InCluster *InClusterOutputs `json:"inCluster,omitempty"`
	// SmokeImage runs smoke inside the cluster (smoke --from-cluster).
	SmokeImage string `json:"smokeImage,omitempty"`
}

// InClusterOutputs are the addresses a caller inside the cluster uses.
type InClusterOutputs struct {
	// URL is where requests go: the model's Service (shadow, through the
	// caller's sidecar) or the Knative Route's cluster-local name.
	URL string `json:"url"`
	// Host is the Host header of user traffic from inside the cluster.
	Host string `json:"host"`
	// VersionHosts maps a version to a Host header reaching only it.
	VersionHosts map[string]string `json:"versionHosts,omitempty"`
	// Sidecar says the routing applies only to callers with an Istio
	// sidecar (the shadow's mesh binding).
	Sidecar bool `json:"sidecar,omitempty"`
}

// ReachableFromOutside reports whether the ingress gateway routes this
// stack's hosts (a shadow bound only to the mesh is not).
func (o *Outputs) ReachableFromOutside() bool { return o.BindTo != BindMesh }

// InClusterView is the outputs as a caller inside the cluster sees them:
// every address replaced by its in-cluster one, and no kubeconfig.
func (o *Outputs) InClusterView() (*Outputs, error) {
	if o.InCluster == nil {
		return nil, fmt.Errorf("stack output %s is missing: this stack routes no callers inside the cluster (shadow.bindTo gateway?)", OutputInCluster)
	}
	in := *o
	in.IngressURL, in.Host = o.InCluster.URL, o.InCluster.Host
	in.Kubeconfig, in.InCluster = "", nil
	in.Versions = map[string]VersionOutput{}
	for name, v := range o.Versions {
		v.Host, v.URL = o.InCluster.VersionHosts[name], ""
		if v.Host != "" {
			v.URL = "http://" + v.Host
		}
		in.Versions[name] = v
	}
	return &in, nil
}

// RolloutOutput is a deployed rollout: who is judged against whom, the
// ladder and where the candidate stands on it, and the gate's settings,
// so the gate needs nothing but the stack outputs.
type RolloutOutput struct {
	Candidate string `json:"candidate"`
	Baseline  string `json:"baseline"`
	Steps     []int  `json:"steps"`
	Position
	Gate GateConfig `json:"gate"`
}

// VersionOutput describes one deployed model version.
type VersionOutput struct {
	// Target is what the version answers on GET /.
	Target string `json:"target"`
	// Host is a Host header that reaches only this version through the
	// ingress (a Knative tag route, or a per-version Istio route).
	Host string `json:"host,omitempty"`
	// URL is the version's own URL as the mesh names it (http://Host).
	URL string `json:"url,omitempty"`
	// Tag is the Knative traffic tag (canary).
	Tag string `json:"tag,omitempty"`
	// Percent is the version's share of user traffic (canary).
	Percent *int `json:"percent,omitempty"`
	// Role is primary or shadow (shadow).
	Role string `json:"role,omitempty"`
	// Replicas is how many pods serve the version when that is fixed (a
	// shadow rollout's Deployments), so a client that can reach pods only
	// through the ingress knows how many to find.
	Replicas *int `json:"replicas,omitempty"`
	// PodSelector is the label selector of the version's pods, for
	// clients that read them through the Kubernetes API.
	PodSelector string `json:"podSelector,omitempty"`
	// RouteHeader, where header routing is on, is a request header that
	// sends a request on the user host to this version only.
	RouteHeader *HeaderMatch `json:"routeHeader,omitempty"`
	// Agent says model-agent fronts the version's own model server (not
	// model-echo): answers carry the agent's X-Model-Version, but only the
	// model's ReadinessPath is known to answer 200, so smoke probes that
	// path instead of expecting Target on GET /.
	Agent bool `json:"agent,omitempty"`
	// ReadinessPath is the model's readiness path, as the agent serves it.
	ReadinessPath string `json:"readinessPath,omitempty"`
}

// ProbePath is the path that proves the version answers: its model's
// readiness path behind the agent, else model-echo's root.
func (v VersionOutput) ProbePath() string {
	if v.Agent && v.ReadinessPath != "" {
		return v.ReadinessPath
	}
	return "/"
}

// AnswersTarget reports whether the version answers GET / with Target
// (model-echo), so a body other than Target is a wrong answer.
func (v VersionOutput) AnswersTarget() bool { return v.ProbePath() == "/" }

// UserProbePath is the path probed on the user host, which may reach any
// version: the readiness path when every version shares one behind the
// agent, else "/".
func (o *Outputs) UserProbePath() string {
	path := ""
	for _, v := range o.Versions {
		switch p := v.ProbePath(); {
		case p == "/":
			return "/"
		case path == "":
			path = p
		case path != p:
			return "/"
		}
	}
	if path == "" {
		return "/"
	}
	return path
}

// HeaderMatch is one request header and the value that selects a route.
type HeaderMatch struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// ParseOutputs decodes `pulumi stack output --json` (or the Automation
// API's outputs marshalled to JSON) and checks it describes a deployment.
func ParseOutputs(data []byte) (*Outputs, error) {
	var o Outputs
	if err := json.Unmarshal(data, &o); err != nil {
		return nil, fmt.Errorf("decode stack outputs: %w", err)
	}
	if err := o.Check(); err != nil {
		return nil, err
	}
	return &o, nil
}

// Check reports outputs a smoke test could not use.
func (o *Outputs) Check() error {
	switch {
	case !o.Strategy.Known():
		return fmt.Errorf("stack output %s is %q, want %s", OutputStrategy, o.Strategy, orList(StrategyNames()))
	case o.IngressURL == "" && o.IngressPending != "":
		return fmt.Errorf("stack output %s is empty: %s", OutputIngressURL, o.IngressPending)
	case o.IngressURL == "":
		return fmt.Errorf("stack output %s is empty: the ingress address is unknown (set cluster.ingressUrl)", OutputIngressURL)
	case o.Host == "":
		return fmt.Errorf("stack output %s is empty", OutputHost)
	case len(o.Versions) == 0:
		return fmt.Errorf("stack output %s is empty", OutputVersions)
	}
	err, _ := ByStrategy[error](o.Strategy, strategyOutputs{o})
	return err
}

// strategyOutputs checks the outputs only one strategy has.
type strategyOutputs struct{ o *Outputs }

func (strategyOutputs) Canary() error { return nil }

func (so strategyOutputs) Shadow() error {
	o := so.o
	if _, ok := o.Versions[o.Primary]; !ok {
		return fmt.Errorf("stack output %s names %q, which is not in %s", OutputPrimary, o.Primary, OutputVersions)
	}
	if _, ok := o.Versions[o.Shadow]; !ok {
		return fmt.Errorf("stack output %s names %q, which is not in %s", OutputShadow, o.Shadow, OutputVersions)
	}
	if o.MirrorPercent == nil {
		return fmt.Errorf("stack output %s is missing", OutputMirrorPercent)
	}
	return nil
}
