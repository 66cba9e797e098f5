package node

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// Options configures a Kubelet.
type Options struct {
	Client kubernetes.Interface
	// NodeName is the Node it registers and whose pods it runs.
	NodeName string
	// Binary is the process that stands for a container (its image, and
	// the command and args the spec gives it), or an error for one
	// nothing stands for (the container then waits, as on an image pull
	// error, and says so in its status).
	Binary func(c corev1.Container) (Process, error)
	// Dir holds the containers' logs.
	Dir string
	// Sync is how often the pods and probes are looked at (default 200 ms;
	// a probe runs at most this often, and no less often than its period).
	Sync time.Duration
	// Log receives one line per thing the kubelet does (default: discarded).
	Log io.Writer
	// AddressBlock (0 to AddressBlocks-1) is the block of 127.0.0.0/16 its
	// pods' IPs come from: nodes running side by side need different ones.
	AddressBlock int
}

// Process is what runs for a container: what its image and command
// would run in a container runtime.
type Process struct {
	// Path is the executable; Args its arguments (the container's args
	// go here: the kubelet stand-in adds none).
	Path string
	Args []string
	// Env is the image's own environment (its ENV lines), which the
	// spec's env overrides.
	Env []string
	// Dir is the working directory (its WORKDIR; "": the kubelet's).
	Dir string
}

// Entrypoint is path run as the image's entrypoint with the container's
// args, as a runtime runs a container that sets no command.
func Entrypoint(path string, c corev1.Container) Process {
	return Process{Path: path, Args: append([]string{}, c.Args...)}
}

// Kubelet runs the pods bound to one Node.
type Kubelet struct {
	opts  Options
	ips   addresses
	port  int
	mu    sync.Mutex
	pods  map[types.UID]*pod
	stop  context.CancelFunc
	done  chan struct{}
	httpS *http.Server
}

// Start registers the Node (Ready, its kubelet API on 127.0.0.1) and runs
// its pods until ctx ends or Stop is called.
func Start(ctx context.Context, opts Options) (*Kubelet, error) {
	if opts.Sync <= 0 {
		opts.Sync = 200 * time.Millisecond
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, err
	}
	if opts.AddressBlock < 0 || opts.AddressBlock >= AddressBlocks {
		return nil, fmt.Errorf("node %s: AddressBlock %d, want 0 to %d", opts.NodeName, opts.AddressBlock, AddressBlocks-1)
	}
	k := &Kubelet{opts: opts, pods: map[types.UID]*pod{}, done: make(chan struct{}),
		ips: addresses{next: opts.AddressBlock * blockSize, limit: (opts.AddressBlock + 1) * blockSize}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	cert, err := selfSigned(opts.NodeName)
	if err != nil {
		ln.Close()
		return nil, err
	}
	k.port = ln.Addr().(*net.TCPAddr).Port
	k.httpS = &http.Server{Handler: http.HandlerFunc(k.serveAPI), ReadHeaderTimeout: 10 * time.Second}
	go k.httpS.Serve(tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}}))
	if err := k.register(ctx); err != nil {
		k.httpS.Close()
		return nil, fmt.Errorf("register node %s: %w", opts.NodeName, err)
	}
	ctx, k.stop = context.WithCancel(ctx)
	go k.run(ctx)
	return k, nil
}

// Stop ends every pod's process (SIGTERM, then SIGKILL) and the kubelet API.
func (k *Kubelet) Stop() {
	k.stop()
	<-k.done
	k.mu.Lock()
	pods := k.pods
	k.pods = map[types.UID]*pod{}
	k.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range pods {
		wg.Add(1)
		go func() { defer wg.Done(); p.kill(5*time.Second, nil) }()
	}
	wg.Wait()
	k.httpS.Close()
}

// Crash kills the process of the named pod's first container as a crash
// would (SIGKILL); the kubelet restarts it, keeping the old log as
// --previous.
func (k *Kubelet) Crash(namespace, name string) error {
	return k.CrashContainer(namespace, name, "")
}

// CrashContainer kills one container of a pod as a crash would; only that
// container restarts, its siblings run on.
func (k *Kubelet) CrashContainer(namespace, name, container string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, p := range k.pods {
		if p.namespace == namespace && p.name == name {
			return p.crash(container)
		}
	}
	return fmt.Errorf("no pod %s/%s on node %s", namespace, name, k.opts.NodeName)
}

// PodIP is the address of a running pod (for tests), or "".
func (k *Kubelet) PodIP(namespace, name string) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, p := range k.pods {
		if p.namespace == namespace && p.name == name {
			return p.ip
		}
	}
	return ""
}

func (k *Kubelet) logf(format string, args ...any) {
	fmt.Fprintf(k.opts.Log, "[node %s] %s\n", k.opts.NodeName, fmt.Sprintf(format, args...))
}

func (k *Kubelet) register(ctx context.Context) error {
	nodes := k.opts.Client.CoreV1().Nodes()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: k.opts.NodeName, Labels: map[string]string{
		"kubernetes.io/hostname": k.opts.NodeName, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
	}}}
	if _, err := nodes.Create(ctx, n, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	// The node controllers write the new Node too (taints, CIDRs): post
	// the status on the latest version, as a kubelet retries.
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		latest, err := nodes.Get(ctx, k.opts.NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		return k.heartbeat(ctx, latest)
	})
}

// heartbeat reports the node Ready with its address and kubelet port, and
// renews its Lease, so the node lifecycle controller keeps it schedulable.
func (k *Kubelet) heartbeat(ctx context.Context, n *corev1.Node) error {
	now := metav1.Now()
	capacity := corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("32"), corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods: resource.MustParse("110"),
	}
	n.Status.Capacity, n.Status.Allocatable = capacity, capacity
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}
	n.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(k.port)
	n.Status.Conditions = []corev1.NodeCondition{{
		Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
		Message: "journey node stand-in is posting ready status", LastHeartbeatTime: now, LastTransitionTime: now,
	}}
	n.Status.NodeInfo.KubeletVersion = "v0.0.0-journey"
	if _, err := k.opts.Client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		return err
	}
	leases := k.opts.Client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	holder, secs := k.opts.NodeName, int32(40)
	micro := metav1.NewMicroTime(time.Now())
	l, err := leases.Get(ctx, k.opts.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: k.opts.NodeName},
			Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &secs, RenewTime: &micro},
		}, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	l.Spec.RenewTime = &micro
	_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
	return err
}

func (k *Kubelet) run(ctx context.Context) {
	defer close(k.done)
	tick := time.NewTicker(k.opts.Sync)
	defer tick.Stop()
	lastBeat := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if time.Since(lastBeat) > 10*time.Second {
			if n, err := k.opts.Client.CoreV1().Nodes().Get(ctx, k.opts.NodeName, metav1.GetOptions{}); err == nil {
				if err := k.heartbeat(ctx, n); err != nil {
					k.logf("heartbeat: %v", err)
				}
			}
			lastBeat = time.Now()
		}
		k.syncPods(ctx)
	}
}

// syncPods starts new pods, stops deleted ones, restarts crashed
// containers, probes readiness and writes every change to the pod status.
func (k *Kubelet) syncPods(ctx context.Context) {
	list, err := k.opts.Client.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + k.opts.NodeName})
	if err != nil {
		if ctx.Err() == nil {
			k.logf("list pods: %v", err)
		}
		return
	}
	seen := map[types.UID]bool{}
	for i := range list.Items {
		obj := &list.Items[i]
		seen[obj.UID] = true
		k.mu.Lock()
		p := k.pods[obj.UID]
		if p == nil && obj.DeletionTimestamp == nil && obj.Status.Phase != corev1.PodSucceeded && obj.Status.Phase != corev1.PodFailed {
			p = k.admit(obj)
		}
		k.mu.Unlock()
		if p == nil {
			if obj.DeletionTimestamp != nil {
				k.finalDelete(ctx, obj)
			}
			continue
		}
		if obj.DeletionTimestamp != nil {
			k.terminate(ctx, p, obj)
			continue
		}
		p.step(ctx, obj, k)
	}
	k.mu.Lock()
	var gone []*pod
	for uid, p := range k.pods {
		if !seen[uid] {
			gone = append(gone, p)
			delete(k.pods, uid)
		}
	}
	k.mu.Unlock()
	for _, p := range gone {
		k.logf("pod %s/%s is gone from the API server: its containers killed", p.namespace, p.name)
		go p.kill(0, nil)
	}
}

// admit takes a new pod on; k.mu is held.
func (k *Kubelet) admit(obj *corev1.Pod) *pod {
	ip, err := k.ips.take()
	if err != nil {
		k.logf("pod %s/%s: %v", obj.Namespace, obj.Name, err)
		return nil
	}
	p := &pod{uid: obj.UID, namespace: obj.Namespace, name: obj.Name, ip: ip,
		dir: filepath.Join(k.opts.Dir, obj.Namespace+"_"+obj.Name+"_"+string(obj.UID)), startTime: metav1.Now()}
	k.pods[obj.UID] = p
	k.logf("pod %s/%s admitted, IP %s", obj.Namespace, obj.Name, ip)
	return p
}

// terminate stops a pod being deleted, within its grace period, then
// deletes it for good, as the kubelet does once its containers are gone.
func (k *Kubelet) terminate(ctx context.Context, p *pod, obj *corev1.Pod) {
	k.mu.Lock()
	delete(k.pods, p.uid)
	k.mu.Unlock()
	grace := 30 * time.Second
	if obj.DeletionGracePeriodSeconds != nil {
		grace = time.Duration(*obj.DeletionGracePeriodSeconds) * time.Second
	}
	k.logf("pod %s/%s deleted: stopping its containers (preStop, SIGTERM, SIGKILL %s after)", obj.Namespace, obj.Name, grace)
	spec := obj.Spec.DeepCopy()
	go func() {
		p.kill(grace, spec)
		k.finalDelete(context.WithoutCancel(ctx), obj)
		k.logf("pod %s/%s stopped and deleted", obj.Namespace, obj.Name)
	}()
}

func (k *Kubelet) finalDelete(ctx context.Context, obj *corev1.Pod) {
	zero := int64(0)
	uid := obj.UID
	err := k.opts.Client.CoreV1().Pods(obj.Namespace).Delete(ctx, obj.Name, metav1.DeleteOptions{
		GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		k.logf("delete pod %s/%s: %v", obj.Namespace, obj.Name, err)
	}
}

// serveAPI is the part of the kubelet API the API server proxies to:
// GET /containerLogs/NAMESPACE/POD/CONTAINER.
func (k *Kubelet) serveAPI(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if r.URL.Path == "/healthz" {
		io.WriteString(w, "ok")
		return
	}
	if len(parts) != 4 || parts[0] != "containerLogs" {
		http.Error(w, "the journey node stand-in serves only /containerLogs/NAMESPACE/POD/CONTAINER", http.StatusNotFound)
		return
	}
	ns, name, container := parts[1], parts[2], parts[3]
	q, err := parseLogQuery(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	previous := r.URL.Query().Get("previous") == "true"
	k.mu.Lock()
	var p *pod
	for _, cand := range k.pods {
		if cand.namespace == ns && cand.name == name {
			p = cand
		}
	}
	k.mu.Unlock()
	if p == nil {
		http.Error(w, fmt.Sprintf("pod %s/%s not found on node %s", ns, name, k.opts.NodeName), http.StatusNotFound)
		return
	}
	l, err := p.log(container, previous)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	if err := l.serve(r.Context(), w, q); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}
