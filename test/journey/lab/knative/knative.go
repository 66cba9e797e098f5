package knative

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

// The Knative Serving resources the stand-in reads and writes.
var (
	Configurations = schema.GroupVersionResource{Group: "serving.knative.dev", Version: "v1", Resource: "configurations"}
	Routes         = schema.GroupVersionResource{Group: "serving.knative.dev", Version: "v1", Resource: "routes"}
	Revisions      = schema.GroupVersionResource{Group: "serving.knative.dev", Version: "v1", Resource: "revisions"}
)

// Labels Knative puts on a revision's objects and pods.
const (
	LabelConfiguration = "serving.knative.dev/configuration"
	LabelRevision      = "serving.knative.dev/revision"
	LabelConfigGen     = "serving.knative.dev/configurationGeneration"
	annotationMinScale = "autoscaling.knative.dev/min-scale"
	// SystemNamespace holds config-domain, config-autoscaler, config-features.
	SystemNamespace = "knative-serving"
)

// Options configures the Reconciler.
type Options struct {
	Client  kubernetes.Interface
	Dynamic dynamic.Interface
	// Sync is how often everything is reconciled (default 200 ms).
	Sync time.Duration
	// IdleToZero is how long a revision allowed to scale to zero keeps its
	// pod after its last request. Knative waits its stable window (60 s)
	// plus the scale-to-zero grace period (30 s); journeys wait less.
	IdleToZero time.Duration
	Log        io.Writer
}

// Reconciler is the stand-in's state: when each revision last served.
type Reconciler struct {
	opts       Options
	mu         sync.Mutex
	lastActive map[string]time.Time // ns/revision
	wake       chan struct{}
	stop       context.CancelFunc
	done       chan struct{}
}

// Start reconciles until ctx ends or Stop is called.
func Start(ctx context.Context, opts Options) *Reconciler {
	if opts.Sync <= 0 {
		opts.Sync = 200 * time.Millisecond
	}
	if opts.IdleToZero <= 0 {
		opts.IdleToZero = 90 * time.Second
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	r := &Reconciler{opts: opts, lastActive: map[string]time.Time{}, wake: make(chan struct{}, 1), done: make(chan struct{})}
	ctx, r.stop = context.WithCancel(ctx)
	go r.run(ctx)
	return r
}

// Stop ends the reconciling.
func (r *Reconciler) Stop() { r.stop(); <-r.done }

// Served records a request the revision served: it stays scaled up for
// IdleToZero more.
func (r *Reconciler) Served(namespace, revision string) {
	r.mu.Lock()
	r.lastActive[namespace+"/"+revision] = time.Now()
	r.mu.Unlock()
}

// Activate records a request for a revision, as Knative's activator does
// for a revision scaled to zero: it is scaled to at least one pod now.
func (r *Reconciler) Activate(namespace, revision string) {
	r.Served(namespace, revision)
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *Reconciler) logf(format string, args ...any) {
	fmt.Fprintf(r.opts.Log, "[knative] %s\n", fmt.Sprintf(format, args...))
}

func (r *Reconciler) run(ctx context.Context) {
	defer close(r.done)
	for {
		if err := r.reconcile(ctx); err != nil && ctx.Err() == nil {
			r.logf("%v", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(r.opts.Sync):
		case <-r.wake:
		}
	}
}

// reconcile is one pass over every Configuration and Route.
func (r *Reconciler) reconcile(ctx context.Context) error {
	configs, err := r.opts.Dynamic.Resource(Configurations).Namespace("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list configurations: %w", err)
	}
	routes, err := r.opts.Dynamic.Resource(Routes).Namespace("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list routes: %w", err)
	}
	sys := r.systemConfig(ctx)
	latestReady := map[string]string{} // ns/config -> revision
	for i := range configs.Items {
		c := &configs.Items[i]
		rev, ready, err := r.reconcileConfiguration(ctx, c)
		if err != nil {
			r.logf("configuration %s/%s: %v", c.GetNamespace(), c.GetName(), err)
		}
		if ready {
			latestReady[c.GetNamespace()+"/"+c.GetName()] = rev
		} else if prev := stringAt(c.Object, "status", "latestReadyRevisionName"); prev != "" {
			latestReady[c.GetNamespace()+"/"+c.GetName()] = prev
		}
	}
	routed := map[string]bool{} // ns/revision
	for i := range routes.Items {
		rt := &routes.Items[i]
		for _, rev := range r.reconcileRoute(ctx, rt, latestReady, sys.domain) {
			routed[rt.GetNamespace()+"/"+rev] = true
		}
	}
	return r.scaleRevisions(ctx, routed, sys.scaleToZero)
}

type systemConfig struct {
	domain      string
	scaleToZero bool
}

// systemConfig reads Knative's config maps as its controllers do, with
// Knative's defaults where they are missing (svc.cluster.local, scale to
// zero on).
func (r *Reconciler) systemConfig(ctx context.Context) systemConfig {
	sc := systemConfig{domain: "svc.cluster.local", scaleToZero: true}
	cms := r.opts.Client.CoreV1().ConfigMaps(SystemNamespace)
	if cm, err := cms.Get(ctx, "config-domain", metav1.GetOptions{}); err == nil {
		var domains []string
		for d, selector := range cm.Data {
			if strings.TrimSpace(selector) == "" && !strings.HasPrefix(d, "_") {
				domains = append(domains, d)
			}
		}
		sort.Strings(domains)
		if len(domains) > 0 {
			sc.domain = domains[0]
		}
	}
	if cm, err := cms.Get(ctx, "config-autoscaler", metav1.GetOptions{}); err == nil {
		if v, ok := cm.Data["enable-scale-to-zero"]; ok {
			sc.scaleToZero = v != "false"
		}
	}
	return sc
}

// reconcileConfiguration makes the Configuration's current generation's
// Revision and Deployment and reports whether that revision is ready.
func (r *Reconciler) reconcileConfiguration(ctx context.Context, c *unstructured.Unstructured) (string, bool, error) {
	ns, name, gen := c.GetNamespace(), c.GetName(), c.GetGeneration()
	rev := fmt.Sprintf("%s-%05d", name, gen)
	template, _, _ := unstructured.NestedMap(c.Object, "spec", "template")
	revisions := r.opts.Dynamic.Resource(Revisions).Namespace(ns)
	revObj, err := revisions.Get(ctx, rev, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		revObj, err = revisions.Create(ctx, revision(c, rev, template), metav1.CreateOptions{})
		if err == nil {
			r.Activate(ns, rev) // a new revision starts at its initial scale
			r.logf("revision %s/%s created", ns, rev)
		}
	}
	if err != nil {
		return rev, false, err
	}
	if _, err := r.ensureDeployment(ctx, revObj, template); err != nil {
		return rev, false, err
	}
	readyPods, err := r.readyPods(ctx, ns, rev)
	if err != nil {
		return rev, false, err
	}
	// Ready once the revision has had a ready pod (Knative keeps it Ready
	// when it later scales to zero).
	ready := conditionTrue(revObj.Object, "Ready") || readyPods > 0
	if err := setStatus(ctx, revisions, revObj, map[string]any{
		"observedGeneration": revObj.GetGeneration(),
		"conditions":         conditions(ready, "the revision has not had a ready pod yet"),
		"actualReplicas":     int64(readyPods),
	}); err != nil {
		return rev, false, err
	}
	status := map[string]any{
		"observedGeneration":        gen,
		"latestCreatedRevisionName": rev,
		"conditions":                conditions(ready, "revision "+rev+" is not ready yet"),
	}
	if ready {
		status["latestReadyRevisionName"] = rev
	} else if prev := stringAt(c.Object, "status", "latestReadyRevisionName"); prev != "" {
		status["latestReadyRevisionName"] = prev
	}
	return rev, ready, setStatus(ctx, r.opts.Dynamic.Resource(Configurations).Namespace(ns), c, status)
}

// readyPods counts the revision's pods that are Ready, as Knative's
// endpoints-based readiness does.
func (r *Reconciler) readyPods(ctx context.Context, ns, rev string) (int, error) {
	list, err := r.opts.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: LabelRevision + "=" + rev})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range list.Items {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue && p.DeletionTimestamp == nil {
				n++
			}
		}
	}
	return n, nil
}

func revision(c *unstructured.Unstructured, name string, template map[string]any) *unstructured.Unstructured {
	labels := map[string]any{LabelConfiguration: c.GetName(), LabelConfigGen: strconv.FormatInt(c.GetGeneration(), 10)}
	meta, _, _ := unstructured.NestedMap(template, "metadata")
	if l, ok := meta["labels"].(map[string]any); ok {
		for k, v := range l {
			labels[k] = v
		}
	}
	md := map[string]any{
		"name": name, "namespace": c.GetNamespace(), "labels": labels,
		"ownerReferences": []any{map[string]any{
			"apiVersion": "serving.knative.dev/v1", "kind": "Configuration", "name": c.GetName(),
			"uid": string(c.GetUID()), "controller": true, "blockOwnerDeletion": true,
		}},
	}
	if a, ok := meta["annotations"].(map[string]any); ok {
		md["annotations"] = a
	}
	spec, _, _ := unstructured.NestedMap(template, "spec")
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "serving.knative.dev/v1", "kind": "Revision", "metadata": md, "spec": spec,
	}}
}

// ensureDeployment creates the revision's Deployment: its template's
// containers with PORT set to the container port and a readiness probe on
// it, as Knative's revision reconciler builds it (without the queue-proxy:
// the ingress stand-in reaches the container directly).
func (r *Reconciler) ensureDeployment(ctx context.Context, rev *unstructured.Unstructured, template map[string]any) (*appsv1.Deployment, error) {
	deployments := r.opts.Client.AppsV1().Deployments(rev.GetNamespace())
	name := rev.GetName() + "-deployment"
	if d, err := deployments.Get(ctx, name, metav1.GetOptions{}); err == nil {
		return d, nil
	} else if !apierrors.IsNotFound(err) {
		return nil, err
	}
	var spec corev1.PodSpec
	rawSpec, _, _ := unstructured.NestedMap(template, "spec")
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(rawSpec, &spec); err != nil {
		return nil, fmt.Errorf("revision template spec: %w", err)
	}
	config := rev.GetLabels()[LabelConfiguration]
	serving := servingContainer(spec.Containers)
	for i := range spec.Containers {
		c := &spec.Containers[i]
		c.Env = append(c.Env, corev1.EnvVar{Name: "K_REVISION", Value: rev.GetName()}, corev1.EnvVar{Name: "K_CONFIGURATION", Value: config})
		if i != serving {
			continue // a sidecar keeps its own env, port and probes
		}
		port := int32(8080)
		if len(c.Ports) > 0 {
			port = c.Ports[0].ContainerPort
		}
		c.Env = append(c.Env, corev1.EnvVar{Name: "PORT", Value: strconv.Itoa(int(port))})
		if c.ReadinessProbe == nil {
			c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{}}}
		}
		if h := c.ReadinessProbe.HTTPGet; h != nil && h.Port.IntValue() == 0 && h.Port.StrVal == "" {
			h.Port = intstr.FromInt32(port)
		}
		// Knative gives the user container a preStop hook that waits for
		// the queue-proxy to drain (/wait-for-drain), so a pod scaled
		// away still answers what the gateway sends it until the gateway
		// has dropped it. The queue-proxy is not run here: the hook
		// sleeps instead, long enough for the ingress stand-in's refresh.
		if c.Lifecycle == nil || c.Lifecycle.PreStop == nil {
			if c.Lifecycle == nil {
				c.Lifecycle = &corev1.Lifecycle{}
			}
			c.Lifecycle.PreStop = &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: drainSeconds}}
		}
	}
	labels := map[string]string{}
	for k, v := range rev.GetLabels() {
		labels[k] = v
	}
	labels[LabelRevision] = rev.GetName()
	zero := int32(0)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: rev.GetNamespace(), Labels: labels,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "serving.knative.dev/v1", Kind: "Revision",
				Name: rev.GetName(), UID: rev.GetUID(), Controller: ptr(true), BlockOwnerDeletion: ptr(true)}}},
		Spec: appsv1.DeploymentSpec{
			Replicas: &zero, // the autoscaler sets it
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{LabelRevision: rev.GetName()}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: rev.GetAnnotations()}, Spec: spec},
		},
	}
	return deployments.Create(ctx, d, metav1.CreateOptions{})
}

// drainSeconds is the stand-in for the queue-proxy's drain: Knative waits
// until no request came for its drain sleep (30 s) before the user
// container gets SIGTERM; here, 1 s is four refreshes of the ingress
// stand-in's routing table.
const drainSeconds = 1

// servingContainer is the index of the container Knative routes to: the
// one that declares a port in a multi-container revision (the model-agent
// beside an own model), the only one otherwise. Only it gets PORT and
// the default probe; the model beside it listens where its own PORT says.
func servingContainer(containers []corev1.Container) int {
	for i, c := range containers {
		if len(c.Ports) > 0 {
			return i
		}
	}
	return 0
}

// scaleRevisions is the autoscaler: every revision's Deployment at
// max(min-scale while routed, 1 while requests came within IdleToZero);
// a new revision counts as active, so it starts with one pod.
func (r *Reconciler) scaleRevisions(ctx context.Context, routed map[string]bool, scaleToZero bool) error {
	revs, err := r.opts.Dynamic.Resource(Revisions).Namespace("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for i := range revs.Items {
		rev := &revs.Items[i]
		key := rev.GetNamespace() + "/" + rev.GetName()
		active := r.active(key)
		want := int32(0)
		// A revision that has not been Ready yet keeps its initial pod, as
		// Knative holds the initial scale until the revision is ready.
		if active || !scaleToZero || !conditionTrue(rev.Object, "Ready") {
			want = 1
		}
		if routed[key] {
			want = max(want, annotationInt(rev, annotationMinScale, 0))
		}
		deployments := r.opts.Client.AppsV1().Deployments(rev.GetNamespace())
		d, err := deployments.Get(ctx, rev.GetName()+"-deployment", metav1.GetOptions{})
		if err != nil {
			continue // made at the next configuration pass
		}
		if d.Spec.Replicas != nil && *d.Spec.Replicas == want {
			continue
		}
		// A request may have come while this pass read the API server:
		// Knative's autoscaler would see it (through the activator, in
		// the path before the last pod goes) and keep the pod, so ask
		// again just before removing it.
		if want == 0 && r.active(key) {
			continue
		}
		d.Spec.Replicas = &want
		if _, err := deployments.Update(ctx, d, metav1.UpdateOptions{}); err != nil {
			return err
		}
		r.logf("revision %s scaled to %d", key, want)
	}
	return nil
}

// active: the revision served a request within IdleToZero.
func (r *Reconciler) active(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return time.Since(r.lastActive[key]) < r.opts.IdleToZero
}

func annotationInt(obj *unstructured.Unstructured, key string, def int32) int32 {
	if v, ok := obj.GetAnnotations()[key]; ok {
		if n, err := strconv.Atoi(v); err == nil {
			return int32(n)
		}
	}
	return def
}

// reconcileRoute resolves the Route's traffic to revisions and writes its
// status; it returns the revisions it routes to.
func (r *Reconciler) reconcileRoute(ctx context.Context, rt *unstructured.Unstructured, latestReady map[string]string, domain string) []string {
	ns, name := rt.GetNamespace(), rt.GetName()
	entries, _, _ := unstructured.NestedSlice(rt.Object, "spec", "traffic")
	var traffic []any
	var revs []string
	missing := ""
	for _, e := range entries {
		m, _ := e.(map[string]any)
		out := map[string]any{}
		rev, _ := m["revisionName"].(string)
		if cfg, _ := m["configurationName"].(string); cfg != "" {
			out["configurationName"] = cfg
			if latest, _ := m["latestRevision"].(bool); latest || rev == "" {
				rev = latestReady[ns+"/"+cfg]
				out["latestRevision"] = true
			}
			if rev == "" {
				missing = "configuration " + cfg + " has no ready revision"
			}
		}
		out["revisionName"] = rev
		if p, ok := m["percent"]; ok {
			out["percent"] = p
		} else {
			out["percent"] = int64(0)
		}
		if tag, _ := m["tag"].(string); tag != "" {
			out["tag"] = tag
			out["url"] = "http://" + TagHost(tag, name, ns, domain)
		}
		traffic = append(traffic, out)
		if rev != "" {
			revs = append(revs, rev)
		}
	}
	status := map[string]any{
		"observedGeneration": rt.GetGeneration(),
		"conditions":         conditions(missing == "", missing),
		"url":                "http://" + Host(name, ns, domain),
		"address":            map[string]any{"url": "http://" + name + "." + ns + ".svc.cluster.local"},
	}
	if missing == "" {
		status["traffic"] = traffic
	}
	if err := setStatus(ctx, r.opts.Dynamic.Resource(Routes).Namespace(ns), rt, status); err != nil {
		r.logf("route %s/%s: %v", ns, name, err)
	}
	return revs
}

// Host is a Route's host: Knative's default domain template {{.Name}}.{{.Namespace}}.{{.Domain}}.
func Host(route, namespace, domain string) string { return route + "." + namespace + "." + domain }

// TagHost is a tag's host: the default tag template {{.Tag}}-{{.Name}}.
func TagHost(tag, route, namespace, domain string) string {
	return Host(tag+"-"+route, namespace, domain)
}

func conditions(ready bool, why string) []any {
	c := map[string]any{"type": "Ready", "status": "True", "lastTransitionTime": time.Now().UTC().Format(time.RFC3339)}
	if !ready {
		c["status"], c["reason"], c["message"] = "Unknown", "NotReady", why
	}
	return []any{c}
}

// setStatus writes status unless it says what is there already (besides
// the conditions' transition times).
func setStatus(ctx context.Context, res dynamic.ResourceInterface, obj *unstructured.Unstructured, status map[string]any) error {
	old, _, _ := unstructured.NestedMap(obj.Object, "status")
	if sameStatus(old, status) {
		return nil
	}
	fresh := obj.DeepCopy()
	fresh.Object["status"] = status
	_, err := res.UpdateStatus(ctx, fresh, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) {
		return nil // the next pass sees the new object
	}
	return err
}

func sameStatus(old, want map[string]any) bool {
	strip := func(m map[string]any) string {
		c := runtime.DeepCopyJSON(m)
		if conds, ok := c["conditions"].([]any); ok {
			for _, x := range conds {
				if cm, ok := x.(map[string]any); ok {
					delete(cm, "lastTransitionTime")
				}
			}
		}
		return fmt.Sprint(c)
	}
	if old == nil {
		return false
	}
	return strip(old) == strip(runtime.DeepCopyJSON(want))
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

func stringAt(obj map[string]any, path ...string) string {
	s, _, _ := unstructured.NestedString(obj, path...)
	return s
}

func ptr[T any](v T) *T { return &v }
