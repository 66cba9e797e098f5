package node

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/modelrollouts/modelrollouts/test/journey/lab/podaddr"
)

// restartBackoff is the wait before a crashed container starts again
// (the kubelet's first CrashLoopBackOff step is 10 s; journeys need less).
const restartBackoff = 500 * time.Millisecond

// pod is one pod's sandbox: its IP, shared by its containers as a pod's
// network namespace is, and each container's instances and logs.
type pod struct {
	uid             types.UID
	namespace, name string
	ip              string
	dir             string
	startTime       metav1.Time

	mu         sync.Mutex // guards every container's state
	containers []*container
	reported   *corev1.PodStatus
}

// container is one container of a pod: its running instance, its logs,
// its restarts and its readiness, each apart from its siblings'.
type container struct {
	name      string
	cmd       *exec.Cmd
	exited    chan struct{}
	current   *containerLog
	previous  *containerLog
	started   metav1.Time
	restarts  int32
	lastState *corev1.ContainerStateTerminated
	waiting   *corev1.ContainerStateWaiting
	retryAt   time.Time
	ready     bool
	probedAt  time.Time
	// Consecutive probe results of the same kind: readiness flips only
	// after the probe's failureThreshold failures or successThreshold
	// successes in a row, as the kubelet does.
	fails, successes int32
	instance         int
	stopped          bool // the pod is going: never restarted
}

// step moves the pod one sync forward: (re)start its containers, probe
// them, and write the status if it changed.
func (p *pod) step(ctx context.Context, obj *corev1.Pod, k *Kubelet) {
	p.mu.Lock()
	p.admitContainers(obj)
	var running []int
	for i, c := range p.containers {
		if c.cmd == nil && !c.stopped && time.Now().After(c.retryAt) {
			p.start(obj, i, k)
		}
		if c.cmd != nil {
			running = append(running, i)
		}
	}
	p.mu.Unlock()
	for _, i := range running {
		if changed, ready, why := p.probe(obj, i, k.opts.Sync); changed {
			k.logf("pod %s/%s: container %s ready=%v (%s)", obj.Namespace, obj.Name, obj.Spec.Containers[i].Name, ready, why)
		}
	}
	p.mu.Lock()
	status := p.status(obj)
	changed := p.reported == nil || !reflect.DeepEqual(*p.reported, *status)
	p.mu.Unlock()
	if !changed {
		return
	}
	fresh := obj.DeepCopy()
	fresh.Status = *status
	if _, err := k.opts.Client.CoreV1().Pods(obj.Namespace).UpdateStatus(ctx, fresh, metav1.UpdateOptions{}); err != nil {
		if ctx.Err() == nil {
			k.logf("pod %s/%s status: %v", obj.Namespace, obj.Name, err)
		}
		return // tried again at the next sync
	}
	p.mu.Lock()
	p.reported = status
	p.mu.Unlock()
}

// admitContainers gives every container of the spec its state, in spec
// order (a pod's containers never change); p.mu is held.
func (p *pod) admitContainers(obj *corev1.Pod) {
	if len(p.containers) == len(obj.Spec.Containers) {
		return
	}
	p.containers = nil
	for _, c := range obj.Spec.Containers {
		p.containers = append(p.containers, &container{name: c.Name})
	}
}

// start runs the pod's i-th container as a process on the pod's IP; p.mu
// is held.
func (p *pod) start(obj *corev1.Pod, i int, k *Kubelet) {
	spec, c := obj.Spec.Containers[i], p.containers[i]
	proc, err := k.opts.Binary(spec)
	if err != nil {
		c.wait("ErrImagePull", err.Error())
		return
	}
	env, err := containerEnv(obj, spec, p.ip, proc.Env)
	if err != nil {
		c.wait("CreateContainerConfigError", err.Error())
		return
	}
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		c.wait("CreateContainerError", err.Error())
		return
	}
	log, err := newContainerLog(filepath.Join(p.dir, fmt.Sprintf("%s-%d.log", spec.Name, c.instance)))
	if err != nil {
		c.wait("CreateContainerError", err.Error())
		return
	}
	cmd := hostnamed(obj.Name, proc.Path, proc.Args)
	cmd.Env, cmd.Dir = env, proc.Dir
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.finish()
		c.wait("RunContainerError", err.Error())
		return
	}
	var copying sync.WaitGroup
	copying.Add(2)
	go func() { defer copying.Done(); log.copyFrom(stdout, "stdout") }()
	go func() { defer copying.Done(); log.copyFrom(stderr, "stderr") }()
	exited := make(chan struct{})
	c.cmd, c.exited, c.current, c.waiting = cmd, exited, log, nil
	c.started, c.ready = metav1.Now(), false
	c.instance++
	k.logf("pod %s/%s: container %s started %s (pid %d) on %s", obj.Namespace, obj.Name, c.name, filepath.Base(proc.Path), cmd.Process.Pid, p.ip)
	go func() {
		copying.Wait()
		err := cmd.Wait()
		log.finish()
		p.mu.Lock()
		defer p.mu.Unlock()
		code := int32(0)
		reason := "Completed"
		if ee, ok := err.(*exec.ExitError); ok {
			code, reason = int32(ee.ExitCode()), "Error"
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				code = 128 + int32(ws.Signal())
			}
		}
		c.lastState = &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason, StartedAt: c.started, FinishedAt: metav1.Now()}
		c.previous, c.current, c.cmd, c.ready = log, nil, nil, false
		c.restarts++
		c.retryAt = time.Now().Add(restartBackoff)
		close(exited)
		next := "restarting"
		if c.stopped {
			next = "the pod is stopping"
		}
		k.logf("pod %s/%s: container %s exited (%s, code %d); %s", obj.Namespace, obj.Name, c.name, reason, code, next)
	}()
}

// hostnamed runs bin with the pod's name as its hostname, as in a pod's
// own UTS namespace, where we may make one; else with the machine's.
func hostnamed(hostname, bin string, args []string) *exec.Cmd {
	if unshare, err := exec.LookPath("unshare"); err == nil && os.Geteuid() == 0 {
		script := `hostname "$0" && exec "$@"`
		return exec.Command(unshare, append([]string{"--uts", "--", "/bin/sh", "-c", script, hostname, bin}, args...)...)
	}
	return exec.Command(bin, args...)
}

func (c *container) wait(reason, message string) {
	c.waiting = &corev1.ContainerStateWaiting{Reason: reason, Message: message}
	c.retryAt = time.Now().Add(2 * time.Second)
}

// containerEnv is the container's environment as the kubelet builds it:
// the image's own (image), then the spec's values (and the downward API's
// pod fields), plus the pod's IP as HOST: binding every address of a
// pod's own network namespace is binding its IP.
func containerEnv(obj *corev1.Pod, c corev1.Container, ip string, image []string) ([]string, error) {
	env := append([]string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOSTNAME=" + obj.Name}, image...)
	for _, e := range c.Env {
		v := podLoopback(e.Value, ip)
		if e.ValueFrom != nil {
			ref := e.ValueFrom.FieldRef
			if ref == nil {
				return nil, fmt.Errorf("env %s: only fieldRef valueFrom is stood in", e.Name)
			}
			switch ref.FieldPath {
			case "metadata.name":
				v = obj.Name
			case "metadata.namespace":
				v = obj.Namespace
			case "status.podIP":
				v = ip
			default:
				return nil, fmt.Errorf("env %s: fieldRef %s is not stood in", e.Name, ref.FieldPath)
			}
		}
		env = append(env, e.Name+"="+v)
	}
	return append(env, "HOST="+ip), nil
}

// podLoopback turns an address on the loopback (127.0.0.1:PORT,
// localhost:PORT, also inside a URL) into the same port on the pod's IP.
// In a pod, 127.0.0.1 is the pod's own network namespace, where its
// containers meet (model-agent reaches the model on 127.0.0.1:8081); here
// every pod shares the machine's, and the pod's own address is its IP.
func podLoopback(value, ip string) string {
	for _, lo := range []string{"127.0.0.1:", "localhost:"} {
		value = strings.ReplaceAll(value, lo, ip+":")
	}
	return value
}

// probe runs the i-th container's readiness probe when its period is due
// (no probe: ready once running, as the kubelet does), with the probe's
// timeout, and flips readiness only after failureThreshold failures (or
// successThreshold successes) in a row, as the kubelet does: one slow
// answer does not take a busy pod out of its Service. It says whether
// readiness changed, and the last probe's result.
func (p *pod) probe(obj *corev1.Pod, i int, floor time.Duration) (changed, ready bool, why string) {
	spec := obj.Spec.Containers[i]
	rp := spec.ReadinessProbe
	p.mu.Lock()
	c := p.containers[i]
	was := c.ready
	if rp == nil || rp.HTTPGet == nil {
		c.ready = c.cmd != nil
		p.mu.Unlock()
		return c.ready != was, c.ready, "no readiness probe"
	}
	period := time.Duration(rp.PeriodSeconds) * time.Second
	if period <= 0 || period > time.Second {
		period = time.Second // the journeys wait less than a kubelet would
	}
	if period < floor {
		period = floor
	}
	if time.Since(c.probedAt) < period {
		p.mu.Unlock()
		return false, was, ""
	}
	c.probedAt = time.Now()
	ip := p.ip
	p.mu.Unlock()
	port, err := probePort(spec, rp.HTTPGet.Port)
	ok := false
	why = "probe port: " + fmt.Sprint(err)
	if err == nil {
		client := http.Client{Timeout: probeTimeout(rp)}
		url := "http://" + net.JoinHostPort(ip, strconv.Itoa(port)) + rp.HTTPGet.Path
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			ok = resp.StatusCode >= 200 && resp.StatusCode < 400
			why = fmt.Sprintf("GET %s: %d", rp.HTTPGet.Path, resp.StatusCode)
		} else {
			why = err.Error()
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if ok {
		c.fails, c.successes = 0, c.successes+1
	} else {
		c.fails, c.successes = c.fails+1, 0
	}
	switch {
	case c.cmd == nil:
		c.ready = false
	case ok && (!was && c.successes >= threshold(rp.SuccessThreshold)):
		c.ready = true
	case !ok && (was && c.fails >= threshold(rp.FailureThreshold) || !was):
		c.ready = false
	}
	return c.ready != was, c.ready, why
}

// probeTimeout is the probe's timeoutSeconds (the kubelet's default 1 s).
func probeTimeout(rp *corev1.Probe) time.Duration {
	if rp.TimeoutSeconds > 0 {
		return time.Duration(rp.TimeoutSeconds) * time.Second
	}
	return time.Second
}

// threshold is a probe's success or failure threshold, 0 meaning the
// API's defaults as the API server fills them in (1 and 3): a threshold
// of at least 1.
func threshold(n int32) int32 { return max(n, 1) }

func probePort(c corev1.Container, port intstr.IntOrString) (int, error) {
	if port.Type == intstr.Int {
		return port.IntValue(), nil
	}
	for _, cp := range c.Ports {
		if cp.Name == port.StrVal {
			return int(cp.ContainerPort), nil
		}
	}
	return 0, fmt.Errorf("probe port %q is not a container port", port.StrVal)
}

// status is what the kubelet would report now: a status per container in
// spec order, the pod Ready only while every container is; p.mu is held.
func (p *pod) status(obj *corev1.Pod) *corev1.PodStatus {
	s := obj.Status.DeepCopy()
	s.Phase = corev1.PodPending
	// The API holds the loopback address's twin: it refuses loopback
	// endpoints (package podaddr).
	s.HostIP, s.PodIP = "127.0.0.1", podaddr.APIAddress(p.ip)
	s.HostIPs = []corev1.HostIP{{IP: "127.0.0.1"}}
	s.PodIPs = []corev1.PodIP{{IP: s.PodIP}}
	s.StartTime = &p.startTime
	s.ContainerStatuses = nil
	allReady := len(obj.Spec.Containers) > 0
	for i, spec := range obj.Spec.Containers {
		c := &container{name: spec.Name}
		if i < len(p.containers) {
			c = p.containers[i]
		}
		if c.cmd != nil || c.lastState != nil {
			s.Phase = corev1.PodRunning // once any container has run
		}
		allReady = allReady && c.ready
		s.ContainerStatuses = append(s.ContainerStatuses, c.status(p.uid, spec))
	}
	ready := corev1.ConditionFalse
	if allReady {
		ready = corev1.ConditionTrue
	}
	s.Conditions = setConditions(s.Conditions, map[corev1.PodConditionType]corev1.ConditionStatus{
		corev1.PodScheduled: corev1.ConditionTrue, corev1.PodInitialized: corev1.ConditionTrue,
		corev1.ContainersReady: ready, corev1.PodReady: ready,
	})
	return s
}

func (c *container) status(uid types.UID, spec corev1.Container) corev1.ContainerStatus {
	cs := corev1.ContainerStatus{Name: spec.Name, Ready: c.ready, RestartCount: c.restarts, Started: ptr(c.cmd != nil),
		Image: spec.Image, ImageID: "journey://" + spec.Image}
	switch {
	case c.cmd != nil:
		cs.State.Running = &corev1.ContainerStateRunning{StartedAt: c.started}
		cs.ContainerID = fmt.Sprintf("journey://%s-%s-%d", uid, c.name, c.instance)
	case c.waiting != nil:
		cs.State.Waiting = c.waiting
	case c.lastState != nil:
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "restarting after the container exited"}
	default:
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
	}
	if c.lastState != nil {
		cs.LastTerminationState.Terminated = c.lastState
	}
	return cs
}

// setConditions keeps each condition's transition time unless its status
// changes.
func setConditions(old []corev1.PodCondition, want map[corev1.PodConditionType]corev1.ConditionStatus) []corev1.PodCondition {
	var out []corev1.PodCondition
	for _, t := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
		c := corev1.PodCondition{Type: t, Status: want[t], LastTransitionTime: metav1.Now()}
		for _, o := range old {
			if o.Type == t && o.Status == want[t] {
				c.LastTransitionTime = o.LastTransitionTime
			}
		}
		c.LastTransitionTime = metav1.NewTime(c.LastTransitionTime.Truncate(time.Second))
		out = append(out, c)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// container is the named container; p.mu is held.
func (p *pod) container(name string) (*container, error) {
	var names []string
	for _, c := range p.containers {
		if c.name == name {
			return c, nil
		}
		names = append(names, c.name)
	}
	return nil, fmt.Errorf("container %s is not valid for pod %s (its containers: %s)", name, p.name, strings.Join(names, ", "))
}

// log is the named container instance's log: the running one, or the one
// before its last restart.
func (p *pod) log(name string, previous bool) (*containerLog, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, err := p.container(name)
	if err != nil {
		return nil, err
	}
	l := c.current
	if previous {
		l = c.previous
		if l == nil {
			return nil, fmt.Errorf("previous terminated container %q in pod %q not found", name, p.name)
		}
	} else if l == nil {
		l = c.previous // between a crash and the restart, the last instance's
	}
	if l == nil {
		return nil, fmt.Errorf("container %q in pod %q is waiting to start", name, p.name)
	}
	return l, nil
}

// crash kills the named container's process as a crash would ("": the
// first container); p's own mutex is taken.
func (p *pod) crash(name string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if name == "" && len(p.containers) > 0 {
		name = p.containers[0].name
	}
	c, err := p.container(name)
	if err != nil {
		return err
	}
	if c.cmd == nil {
		return fmt.Errorf("pod %s/%s: container %s is not running", p.namespace, p.name, name)
	}
	return c.cmd.Process.Kill()
}

// kill stops every container as the kubelet does: its preStop hook
// (spec's; a sleep is the one action this node runs), then SIGTERM, then
// SIGKILL once grace has passed since the hook began. A nil spec: no hooks.
func (p *pod) kill(grace time.Duration, spec *corev1.PodSpec) {
	p.mu.Lock()
	var wg sync.WaitGroup
	for _, c := range p.containers {
		c.stopped = true // never restarted
		cmd, exited := c.cmd, c.exited
		if cmd == nil {
			continue
		}
		hook := preStopSleep(spec, c.name)
		wg.Add(1)
		go func() {
			defer wg.Done()
			deadline := time.After(grace)
			select {
			case <-exited:
				return
			case <-deadline:
				cmd.Process.Kill()
				<-exited
				return
			case <-time.After(min(hook, grace)):
			}
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-deadline:
				cmd.Process.Kill()
				<-exited
			}
		}()
	}
	p.mu.Unlock()
	wg.Wait()
}

// preStopSleep is the sleep of the named container's preStop hook, 0 if it
// has none.
func preStopSleep(spec *corev1.PodSpec, name string) time.Duration {
	if spec == nil {
		return 0
	}
	for _, c := range spec.Containers {
		if c.Name == name && c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
			return time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
		}
	}
	return 0
}
