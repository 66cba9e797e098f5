package stacks

import (
	"regexp"
	"strings"
)

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// Validate reports every problem with a defaulted config at once. An error
// means nothing may be created.
func (c *Config) Validate() error {
	var v collector
	c.validateCluster(&v)
	c.validatePlatform(&v)
	if !isDNSLabel(c.Namespace) {
		v.add(key("namespace"), "%q is not a DNS-1123 label", c.Namespace)
	}
	switch c.Strategy {
	case StrategyCanary:
		if c.Canary == nil {
			v.add(key("canary"), "required when strategy is canary")
		} else {
			c.validateCanary(&v)
		}
	case StrategyShadow:
		if c.Shadow == nil {
			v.add(key("shadow"), "required when strategy is shadow")
		} else {
			c.validateShadow(&v)
		}
	case "":
		v.add(key("strategy"), "required: canary or shadow")
	default:
		v.add(key("strategy"), "unknown strategy %q, want canary or shadow", c.Strategy)
	}
	c.validateImage(&v)
	return v.err()
}

func (c *Config) validateCluster(v *collector) {
	p := key("cluster")
	cl := c.Cluster
	switch cl.Type {
	case ClusterKind:
		if !isDNSLabel(cl.Name) {
			v.add(p.field("name"), "%q is not a DNS-1123 label", cl.Name)
		}
		if cl.Workers < 0 || cl.Workers > 10 {
			v.add(p.field("workers"), "%d is out of range, want 0 to 10", cl.Workers)
		}
		if cl.IngressHostPort < 1 || cl.IngressHostPort > 65535 {
			v.add(p.field("ingressHostPort"), "%d is not a port, want 1 to 65535", cl.IngressHostPort)
		}
		// The default Kubernetes NodePort range.
		if cl.IngressNodePort < 30000 || cl.IngressNodePort > 32767 {
			v.add(p.field("ingressNodePort"), "%d is outside the NodePort range 30000 to 32767", cl.IngressNodePort)
		}
		if cl.Kubeconfig != "" || cl.Context != "" {
			v.add(p.field("kubeconfig"), "kind clusters make their own kubeconfig; set cluster.type to existing to use one")
		}
	case ClusterExisting:
		if cl.Workers != 0 || cl.Name != "" || cl.NodeImage != "" {
			v.add(p.field("type"), "name, nodeImage and workers only apply to kind clusters")
		}
	default:
		v.add(p.field("type"), "unknown cluster type %q, want kind or existing", cl.Type)
	}
	if cl.IngressURL != "" && !strings.HasPrefix(cl.IngressURL, "http://") && !strings.HasPrefix(cl.IngressURL, "https://") {
		v.add(p.field("ingressUrl"), "%q is not an http(s) URL", cl.IngressURL)
	}
}

func (c *Config) validatePlatform(v *collector) {
	p := key("platform")
	if !knownServiceType(c.Platform.Istio.GatewayServiceType) {
		v.add(p.field("istio").field("gatewayServiceType"), "unknown Service type %q, want NodePort, LoadBalancer or ClusterIP", c.Platform.Istio.GatewayServiceType)
	}
	if c.Cluster.Type == ClusterKind && knownServiceType(c.Platform.Istio.GatewayServiceType) && c.Platform.Istio.GatewayServiceType != "NodePort" {
		v.add(p.field("istio").field("gatewayServiceType"), "must be NodePort on kind: the host reaches the gateway through the mapped NodePort")
	}
	kn := c.Platform.Knative
	if !isDNSName(kn.Domain) {
		v.add(p.field("knative").field("domain"), "%q is not a DNS name", kn.Domain)
	}
	for i, r := range kn.SkipTagResolution {
		if r == "" {
			v.add(p.field("knative").field("skipTagResolution").index(i), "must not be empty")
		}
	}
}

func (c *Config) validateCanary(v *collector) {
	p := key("canary")
	cn := c.Canary
	if !isDNSLabel(cn.Service) {
		v.add(p.field("service"), "%q is not a DNS-1123 label", cn.Service)
	}
	if len(cn.Versions) == 0 {
		v.add(p.field("versions"), "at least one version is required")
		return
	}
	names := map[string]int{}
	tags := map[string]tagUse{}
	sum := 0
	for i, ver := range cn.Versions {
		vp := p.field("versions").index(i)
		validateModel(v, vp, ver.ModelSettings, names, i)
		if ver.Percent == nil {
			v.add(vp.field("percent"), "required: the version's share of traffic, 0 to 100")
		} else if *ver.Percent < 0 || *ver.Percent > 100 {
			v.add(vp.field("percent"), "%d is out of range, want 0 to 100", *ver.Percent)
		} else {
			sum += *ver.Percent
		}
		if ver.Tag != "" {
			validateTag(v, vp.field("tag"), ver, cn.Service, tags, i)
		}
		validateScale(v, vp, ver)
	}
	if sum != 100 && allPercentsValid(cn.Versions) {
		v.add(p.field("versions"), "percents sum to %d, want 100", sum)
	}
}

// tagUse remembers which version holds a tag, and whether it is the
// version's name standing in for an unset tag.
type tagUse struct {
	index     int
	defaulted bool
}

// validateTag checks a version's tag. A tag that defaulted to the name is
// not blamed for the name's problems: those are reported at the name.
func validateTag(v *collector, p fieldPath, ver CanaryVersion, service string, tags map[string]tagUse, i int) {
	defaulted := ver.Tag == ver.Name
	prev, dup := tags[ver.Tag]
	switch {
	case !isDNSLabel(ver.Tag):
		if !defaulted {
			v.add(p, "%q is not a DNS-1123 label", ver.Tag)
		}
		return
	case dup:
		if !defaulted || !prev.defaulted {
			v.add(p, "%q is already the tag of versions[%d]", ver.Tag, prev.index)
		}
		return
	}
	tags[ver.Tag] = tagUse{index: i, defaulted: defaulted}
	// Knative prefixes the route name with the tag in the host name.
	if len(ver.Tag)+1+len(service) > 63 {
		v.add(p, "tag and service name make a host label longer than 63 characters")
	}
}

func allPercentsValid(vs []CanaryVersion) bool {
	for _, ver := range vs {
		if ver.Percent == nil || *ver.Percent < 0 || *ver.Percent > 100 {
			return false
		}
	}
	return true
}

func validateScale(v *collector, vp fieldPath, ver CanaryVersion) {
	check := func(name string, n *int) {
		if n != nil && *n < 0 {
			v.add(vp.field(name), "%d is negative", *n)
		}
	}
	check("minScale", ver.MinScale)
	check("maxScale", ver.MaxScale)
	check("initialScale", ver.InitialScale)
	if ver.MinScale != nil && ver.MaxScale != nil && *ver.MaxScale > 0 && *ver.MinScale > *ver.MaxScale {
		v.add(vp.field("minScale"), "%d is above maxScale %d", *ver.MinScale, *ver.MaxScale)
	}
}

func (c *Config) validateShadow(v *collector) {
	p := key("shadow")
	sh := c.Shadow
	if !isDNSLabel(sh.Service) {
		v.add(p.field("service"), "%q is not a DNS-1123 label", sh.Service)
	}
	// A host derived from a bad service or domain is reported there.
	derived := sh.Host == sh.Service+"."+c.Platform.Knative.Domain
	derivedFromBad := derived && (!isDNSLabel(sh.Service) || !isDNSName(c.Platform.Knative.Domain))
	if !isDNSName(sh.Host) && !derivedFromBad {
		v.add(p.field("host"), "%q is not a DNS name", sh.Host)
	}
	if sh.MirrorPercent == nil {
		v.add(p.field("mirrorPercent"), "required: the share of requests copied to the shadow, 0 to 100")
	} else if *sh.MirrorPercent < 0 || *sh.MirrorPercent > 100 {
		v.add(p.field("mirrorPercent"), "%g is out of range, want 0 to 100", *sh.MirrorPercent)
	}
	names := map[string]int{}
	roles := map[string]int{}
	for i, ver := range sh.Versions {
		vp := p.field("versions").index(i)
		validateModel(v, vp, ver.ModelSettings, names, i)
		switch ver.Role {
		case RolePrimary, RoleShadow:
			roles[ver.Role]++
		default:
			v.add(vp.field("role"), "unknown role %q, want primary or shadow", ver.Role)
		}
		if ver.Replicas != nil && *ver.Replicas < 1 {
			v.add(vp.field("replicas"), "%d is below 1", *ver.Replicas)
		}
	}
	for _, role := range []string{RolePrimary, RoleShadow} {
		if roles[role] != 1 {
			v.add(p.field("versions"), "has %d %s versions, want exactly 1", roles[role], role)
		}
	}
}

// validateModel checks what every version has, and that names are unique.
func validateModel(v *collector, vp fieldPath, m ModelSettings, names map[string]int, i int) {
	switch {
	case m.Name == "":
		v.add(vp.field("name"), "required: a DNS-1123 label such as v1")
	case !isDNSLabel(m.Name):
		v.add(vp.field("name"), "%q is not a DNS-1123 label", m.Name)
	default:
		if j, dup := names[m.Name]; dup {
			v.add(vp.field("name"), "%q is already the name of versions[%d]", m.Name, j)
		} else {
			names[m.Name] = i
		}
	}
	if m.Target == "" {
		v.add(vp.field("target"), "required: what the version answers (TARGET)")
	}
	if m.LatencyMs < 0 {
		v.add(vp.field("latencyMs"), "%d is negative", m.LatencyMs)
	}
	if m.ErrorRate < 0 || m.ErrorRate > 1 {
		v.add(vp.field("errorRate"), "%g is out of range, want 0 to 1", m.ErrorRate)
	}
	for name := range m.Env {
		if reservedEnv[name] {
			v.add(vp.field("env").field(name), "is set by the program from the version's fields")
		}
	}
}

// reservedEnv are the variables the program derives from typed fields.
var reservedEnv = map[string]bool{
	"TARGET": true, "MODEL_VERSION": true, "MODEL_NAME": true, "MODEL_BIAS": true,
	"LATENCY_MS": true, "ERROR_RATE": true, "PORT": true,
}

func (c *Config) validateImage(v *collector) {
	p := key("image")
	img := c.Image
	if *img.Build {
		if img.Ref != "" {
			v.add(p.field("ref"), "set either ref or build, not both")
		}
		if c.Cluster.Type == ClusterKind && !c.skipsTagResolution(img.Repository) {
			v.add(p.field("repository"), "%q is not in a registry Knative skips tag resolution for (%s): the revision would never become ready",
				img.Repository, strings.Join(c.Platform.Knative.SkipTagResolution, ", "))
		}
		if c.Cluster.Type == ClusterExisting && !img.Push {
			v.add(p.field("push"), "an existing cluster cannot see a local image: set push with a registry, or ref")
		}
		if img.Push && (img.Registry == nil || img.Registry.Server == "") {
			v.add(p.field("registry").field("server"), "required to push the image")
		}
		return
	}
	if img.Ref == "" && !c.everyVersionHasImage() {
		v.add(p.field("ref"), "required: nothing builds the model image, so give an image reference (or an image on every version)")
	}
}

func (c *Config) everyVersionHasImage() bool {
	var models []ModelSettings
	if c.Canary != nil && c.Strategy == StrategyCanary {
		for _, ver := range c.Canary.Versions {
			models = append(models, ver.ModelSettings)
		}
	}
	if c.Shadow != nil && c.Strategy == StrategyShadow {
		for _, ver := range c.Shadow.Versions {
			models = append(models, ver.ModelSettings)
		}
	}
	for _, m := range models {
		if m.Image == "" {
			return false
		}
	}
	return len(models) > 0
}

func (c *Config) skipsTagResolution(repository string) bool {
	registry, _, _ := strings.Cut(repository, "/")
	for _, r := range c.Platform.Knative.SkipTagResolution {
		if r == registry {
			return true
		}
	}
	return false
}

func knownServiceType(t string) bool {
	return t == "NodePort" || t == "LoadBalancer" || t == "ClusterIP"
}

func isDNSLabel(s string) bool { return len(s) <= 63 && dnsLabel.MatchString(s) }

func isDNSName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if !isDNSLabel(label) {
			return false
		}
	}
	return true
}

// String renders a strategy for messages.
func (s Strategy) String() string { return string(s) }
