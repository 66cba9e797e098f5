package ingress

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/modelrollouts/modelrollouts/test/journey/lab/knative"
	"github.com/modelrollouts/modelrollouts/test/journey/lab/podaddr"
)

var (
	gateways         = schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "gateways"}
	virtualServices  = schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "virtualservices"}
	destinationRules = schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "destinationrules"}
)

// The ingress gateway's labels, which a Gateway's selector must match.
var gatewayLabels = map[string]string{"istio": "ingressgateway"}

// knativeTagHeader names a tag on the route's own host (with
// tag-header-based-routing enabled).
const knativeTagHeader = "Knative-Serving-Tag"

// table is one snapshot of what routes where.
type table struct {
	knative   map[string]*knRoute // host (no port) -> route
	istio     map[string][]vs     // host (no port) -> virtual services, oldest first
	pods      []readyPod
	services  map[string]corev1.Service    // ns/name
	subsets   map[string]map[string]string // ns/service/subset -> labels
	tagHeader bool
}

type knRoute struct {
	namespace string
	split     []knTarget
	tags      map[string]string // tag -> revision
	tag       string            // set on a tag's own host
}

type knTarget struct {
	revision string
	percent  float64
}

type vs struct {
	namespace string
	http      []httpRoute
}

type httpRoute struct {
	Match []struct {
		Headers   map[string]stringMatch `json:"headers"`
		URI       *stringMatch           `json:"uri"`
		Authority *stringMatch           `json:"authority"`
	} `json:"match"`
	Route []struct {
		Destination istioDestination `json:"destination"`
		Weight      *float64         `json:"weight"`
	} `json:"route"`
	Mirror           *istioDestination `json:"mirror"`
	MirrorPercentage *struct {
		Value float64 `json:"value"`
	} `json:"mirrorPercentage"`
}

type istioDestination struct {
	Host   string `json:"host"`
	Subset string `json:"subset"`
	Port   *struct {
		Number int `json:"number"`
	} `json:"port"`
}

type stringMatch struct {
	Exact  *string `json:"exact"`
	Prefix *string `json:"prefix"`
	Regex  *string `json:"regex"`
}

func (m stringMatch) matches(v string, present bool) bool {
	switch {
	case m.Exact != nil:
		return present && v == *m.Exact
	case m.Prefix != nil:
		return present && strings.HasPrefix(v, *m.Prefix)
	case m.Regex != nil:
		re, err := regexp.Compile("^(?:" + *m.Regex + ")$")
		return err == nil && present && re.MatchString(v)
	}
	return present
}

type readyPod struct {
	namespace string
	labels    map[string]string
	ip        string
	ports     map[string]int32 // container port name -> number
	firstPort int32
}

// destination is where a request goes: a Knative revision, or a Service
// (restricted to a subset) on a port.
type destination struct {
	namespace string
	revision  string
	service   string
	subset    string
	port      int
	version   string // for counts: the subset's version label, or the revision
}

type decision struct {
	target destination
	mirror *destination
	// mirrorShare is the route's mirror percentage (0: it mirrors
	// nothing), whether or not this request's draw sent a copy.
	mirrorShare float64
}

func load(ctx context.Context, client kubernetes.Interface, dyn dynamic.Interface) (*table, error) {
	t := &table{knative: map[string]*knRoute{}, istio: map[string][]vs{}, services: map[string]corev1.Service{}, subsets: map[string]map[string]string{}}
	pods, err := client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil || p.Status.PodIP == "" || !podReady(&p) || len(p.Spec.Containers) == 0 {
			continue
		}
		rp := readyPod{namespace: p.Namespace, labels: p.Labels, ip: podaddr.Loopback(p.Status.PodIP), ports: map[string]int32{}, firstPort: 8080}
		for i, cp := range p.Spec.Containers[0].Ports {
			if i == 0 {
				rp.firstPort = cp.ContainerPort
			}
			if cp.Name != "" {
				rp.ports[cp.Name] = cp.ContainerPort
			}
		}
		t.pods = append(t.pods, rp)
	}
	svcs, err := client.CoreV1().Services("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, s := range svcs.Items {
		t.services[s.Namespace+"/"+s.Name] = s
	}
	if cm, err := client.CoreV1().ConfigMaps("knative-serving").Get(ctx, "config-features", metav1.GetOptions{}); err == nil {
		t.tagHeader = strings.EqualFold(cm.Data["tag-header-based-routing"], "enabled")
	}
	if err := t.loadKnative(ctx, dyn); err != nil {
		return nil, err
	}
	if err := t.loadIstio(ctx, dyn); err != nil {
		return nil, err
	}
	return t, nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// loadKnative reads every Ready Route's status.
func (t *table) loadKnative(ctx context.Context, dyn dynamic.Interface) error {
	routes, err := list(ctx, dyn, knative.Routes)
	if err != nil {
		return err
	}
	for _, rt := range routes {
		if !conditionTrue(rt.Object, "Ready") {
			continue
		}
		url, _, _ := unstructured.NestedString(rt.Object, "status", "url")
		traffic, _, _ := unstructured.NestedSlice(rt.Object, "status", "traffic")
		route := &knRoute{namespace: rt.GetNamespace(), tags: map[string]string{}}
		for _, e := range traffic {
			m, _ := e.(map[string]any)
			rev, _ := m["revisionName"].(string)
			percent, _ := number(m["percent"])
			if percent > 0 {
				route.split = append(route.split, knTarget{revision: rev, percent: percent})
			}
			if tag, _ := m["tag"].(string); tag != "" {
				route.tags[tag] = rev
				if u, _ := m["url"].(string); u != "" {
					t.knative[hostOf(u)] = &knRoute{namespace: rt.GetNamespace(), tags: route.tags, tag: tag}
				}
			}
		}
		if url != "" {
			t.knative[hostOf(url)] = route
		}
	}
	return nil
}

// loadIstio reads the VirtualServices bound to a Gateway that selects the
// ingress gateway, for the hosts that Gateway serves, and the subsets.
func (t *table) loadIstio(ctx context.Context, dyn dynamic.Interface) error {
	gws, err := list(ctx, dyn, gateways)
	if err != nil {
		return err
	}
	served := map[string][]string{} // ns/name -> hosts
	for _, gw := range gws {
		sel, _, _ := unstructured.NestedStringMap(gw.Object, "spec", "selector")
		if !subsetOf(sel, gatewayLabels) {
			continue
		}
		servers, _, _ := unstructured.NestedSlice(gw.Object, "spec", "servers")
		for _, s := range servers {
			m, _ := s.(map[string]any)
			hosts, _ := m["hosts"].([]any)
			for _, h := range hosts {
				hs, _ := h.(string)
				// "ns/host" limits which namespaces' VirtualServices bind;
				// the lab's own objects all live in one namespace.
				if _, host, ok := strings.Cut(hs, "/"); ok {
					hs = host
				}
				served[gw.GetNamespace()+"/"+gw.GetName()] = append(served[gw.GetNamespace()+"/"+gw.GetName()], hs)
			}
		}
	}
	vss, err := list(ctx, dyn, virtualServices)
	if err != nil {
		return err
	}
	sort.SliceStable(vss, func(i, j int) bool {
		a, b := vss[i].GetCreationTimestamp(), vss[j].GetCreationTimestamp()
		return a.Before(&b)
	})
	for _, v := range vss {
		var spec struct {
			Hosts    []string    `json:"hosts"`
			Gateways []string    `json:"gateways"`
			HTTP     []httpRoute `json:"http"`
		}
		raw, _ := json.Marshal(v.Object["spec"])
		if err := json.Unmarshal(raw, &spec); err != nil {
			return fmt.Errorf("virtualservice %s/%s: %w", v.GetNamespace(), v.GetName(), err)
		}
		var bound []string
		for _, g := range spec.Gateways {
			if !strings.Contains(g, "/") {
				g = v.GetNamespace() + "/" + g
			}
			bound = append(bound, served[g]...)
		}
		for _, h := range spec.Hosts {
			if !hostServed(h, bound) {
				continue
			}
			t.istio[h] = append(t.istio[h], vs{namespace: v.GetNamespace(), http: spec.HTTP})
		}
	}
	drs, err := list(ctx, dyn, destinationRules)
	if err != nil {
		return err
	}
	for _, dr := range drs {
		host, _, _ := unstructured.NestedString(dr.Object, "spec", "host")
		svc := t.serviceKey(host, dr.GetNamespace())
		subsets, _, _ := unstructured.NestedSlice(dr.Object, "spec", "subsets")
		for _, s := range subsets {
			m, _ := s.(map[string]any)
			name, _ := m["name"].(string)
			labels := map[string]string{}
			if l, ok := m["labels"].(map[string]any); ok {
				for k, v := range l {
					labels[k], _ = v.(string)
				}
			}
			t.subsets[svc+"/"+name] = labels
		}
	}
	return nil
}

func hostServed(host string, served []string) bool {
	for _, s := range served {
		if s == "*" || s == host || (strings.HasPrefix(s, "*.") && strings.HasSuffix(host, s[1:])) {
			return true
		}
	}
	return false
}

// serviceKey resolves a destination host to ns/name: "name" in the
// VirtualService's namespace, "name.ns", "name.ns.svc.cluster.local".
func (t *table) serviceKey(host, ns string) string {
	parts := strings.Split(strings.TrimSuffix(host, ".svc.cluster.local"), ".")
	if len(parts) >= 2 {
		return parts[1] + "/" + parts[0]
	}
	return ns + "/" + parts[0]
}

// decide picks the destination (and mirror) of a request.
func (t *table) decide(r *http.Request, draw func() float64) (decision, bool) {
	host := stripPort(r.Host)
	if route, ok := t.knative[host]; ok {
		rev := ""
		switch {
		case route.tag != "":
			rev = route.tags[route.tag]
		case t.tagHeader && route.tags[r.Header.Get(knativeTagHeader)] != "":
			rev = route.tags[r.Header.Get(knativeTagHeader)]
		default:
			rev = split(route.split, draw)
		}
		if rev == "" {
			return decision{}, false
		}
		return decision{target: destination{namespace: route.namespace, revision: rev, version: rev}}, true
	}
	for _, v := range t.istio[host] {
		for _, hr := range v.http {
			if !matches(hr, r) {
				continue
			}
			if len(hr.Route) == 0 {
				return decision{}, false
			}
			weights := make([]knTarget, len(hr.Route))
			for i, d := range hr.Route {
				w := 100.0
				if d.Weight != nil {
					w = *d.Weight
				} else if len(hr.Route) > 1 {
					w = 0
				}
				weights[i] = knTarget{revision: strconv.Itoa(i), percent: w}
			}
			i := 0
			if len(hr.Route) > 1 {
				i, _ = strconv.Atoi(split(weights, draw))
			}
			d := decision{target: t.istioDestination(hr.Route[i].Destination, v.namespace)}
			if hr.Mirror != nil {
				share := 100.0
				if hr.MirrorPercentage != nil {
					share = hr.MirrorPercentage.Value
				}
				d.mirrorShare = share
				if draw()*100 < share {
					m := t.istioDestination(*hr.Mirror, v.namespace)
					d.mirror = &m
				}
			}
			return d, true
		}
	}
	return decision{}, false
}

func matches(hr httpRoute, r *http.Request) bool {
	if len(hr.Match) == 0 {
		return true
	}
	for _, m := range hr.Match {
		ok := true
		for name, sm := range m.Headers {
			vals, present := r.Header[http.CanonicalHeaderKey(name)]
			v := ""
			if present && len(vals) > 0 {
				v = vals[0]
			}
			ok = ok && sm.matches(v, present)
		}
		if m.URI != nil {
			ok = ok && m.URI.matches(r.URL.Path, true)
		}
		if m.Authority != nil {
			// :authority as Envoy sees it: with any port the caller sent.
			ok = ok && m.Authority.matches(r.Host, true)
		}
		if ok {
			return true
		}
	}
	return false
}

func (t *table) istioDestination(d istioDestination, ns string) destination {
	key := t.serviceKey(d.Host, ns)
	svcNS, name, _ := strings.Cut(key, "/")
	out := destination{namespace: svcNS, service: name, subset: d.Subset, version: d.Subset}
	if d.Port != nil {
		out.port = d.Port.Number
	}
	if v := t.subsets[key+"/"+d.Subset]["version"]; v != "" {
		out.version = v
	}
	return out
}

// split draws a target by percent.
func split(targets []knTarget, draw func() float64) string {
	total := 0.0
	for _, t := range targets {
		total += t.percent
	}
	if total <= 0 {
		return ""
	}
	x := draw() * total
	for _, t := range targets {
		if x < t.percent {
			return t.revision
		}
		x -= t.percent
	}
	return targets[len(targets)-1].revision
}

// endpoints are the ready pods' addresses behind the destination.
func (d destination) endpoints(t *table) []string {
	var out []string
	if d.revision != "" {
		for _, p := range t.pods {
			if p.namespace == d.namespace && p.labels["serving.knative.dev/revision"] == d.revision {
				out = append(out, net.JoinHostPort(p.ip, strconv.Itoa(int(p.firstPort))))
			}
		}
		return out
	}
	svc, ok := t.services[d.namespace+"/"+d.service]
	if !ok || len(svc.Spec.Selector) == 0 || len(svc.Spec.Ports) == 0 {
		return nil
	}
	sp := svc.Spec.Ports[0]
	for _, p := range svc.Spec.Ports {
		if d.port != 0 && int(p.Port) == d.port {
			sp = p
		}
	}
	want := map[string]string{}
	for k, v := range svc.Spec.Selector {
		want[k] = v
	}
	if d.subset != "" {
		labels, ok := t.subsets[d.namespace+"/"+d.service+"/"+d.subset]
		if !ok {
			return nil // Envoy: no cluster for an undefined subset
		}
		for k, v := range labels {
			want[k] = v
		}
	}
	for _, p := range t.pods {
		if p.namespace != d.namespace || !subsetOf(want, p.labels) {
			continue
		}
		port := sp.TargetPort
		n := int32(port.IntValue())
		if port.Type == intstr.String {
			n = p.ports[port.StrVal]
		}
		if n == 0 {
			n = sp.Port
		}
		out = append(out, net.JoinHostPort(p.ip, strconv.Itoa(int(n))))
	}
	return out
}

func subsetOf(want, have map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

func list(ctx context.Context, dyn dynamic.Interface, gvr schema.GroupVersionResource) ([]unstructured.Unstructured, error) {
	l, err := dyn.Resource(gvr).Namespace("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", gvr.Resource, err)
	}
	return l.Items, nil
}

func conditionTrue(obj map[string]any, typ string) bool {
	conds, _, _ := unstructured.NestedSlice(obj, "status", "conditions")
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == typ {
			return m["status"] == "True"
		}
	}
	return false
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case float64:
		return n, true
	case int:
		return float64(n), true
	}
	return 0, false
}

func hostOf(url string) string {
	h := strings.TrimPrefix(strings.TrimPrefix(url, "http://"), "https://")
	h, _, _ = strings.Cut(h, "/")
	return stripPort(h)
}
