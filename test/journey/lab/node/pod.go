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

// pod is one pod's sandbox: its IP, its container's instances and logs.
type pod struct {
	uid             types.UID
	namespace, name string
	ip              string
	dir             string
	startTime       metav1.Time

	mu        sync.Mutex
	container string
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
	instance  int
	reported  *corev1.PodStatus
}

// step moves the pod one sync forward: (re)start its container, probe it,
// and write the status if it changed.
func (p *pod) step(ctx context.Context, obj *corev1.Pod, k *Kubelet) {
	p.mu.Lock()
	running := p.cmd != nil
	if !running && time.Now().After(p.retryAt) {
		p.start(obj, k)
		running = p.cmd != nil
	}
	p.mu.Unlock()
	if running {
		p.probe(obj, k.opts.Sync)
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

// start runs the pod's container; p.mu is held.
func (p *pod) start(obj *corev1.Pod, k *Kubelet) {
	if len(obj.Spec.Containers) != 1 {
		p.wait("CreateContainerError", fmt.Sprintf("the journey node stand-in runs pods of one container, this one has %d", len(obj.Spec.Containers)))
		return
	}
	c := obj.Spec.Containers[0]
	p.container = c.Name
	bin, err := k.opts.Binary(c.Image)
	if err != nil {
		p.wait("ErrImagePull", err.Error())
		return
	}
	env, err := containerEnv(obj, c, p.ip)
	if err != nil {
		p.wait("CreateContainerConfigError", err.Error())
		return
	}
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		p.wait("CreateContainerError", err.Error())
		return
	}
	log, err := newContainerLog(filepath.Join(p.dir, fmt.Sprintf("%s-%d.log", c.Name, p.instance)))
	if err != nil {
		p.wait("CreateContainerError", err.Error())
		return
	}
	cmd := hostnamed(obj.Name, bin, append(append([]string{}, c.Command...), c.Args...))
	cmd.Env = env
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.finish()
		p.wait("RunContainerError", err.Error())
		return
	}
	var copying sync.WaitGroup
	copying.Add(2)
	go func() { defer copying.Done(); log.copyFrom(stdout, "stdout") }()
	go func() { defer copying.Done(); log.copyFrom(stderr, "stderr") }()
	exited := make(chan struct{})
	p.cmd, p.exited, p.current, p.waiting = cmd, exited, log, nil
	p.started, p.ready = metav1.Now(), false
	p.instance++
	k.logf("pod %s/%s: started %s (pid %d) on %s", obj.Namespace, obj.Name, filepath.Base(bin), cmd.Process.Pid, p.ip)
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
		p.lastState = &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason, StartedAt: p.started, FinishedAt: metav1.Now()}
		p.previous, p.current, p.cmd, p.ready = log, nil, nil, false
		p.restarts++
		p.retryAt = time.Now().Add(restartBackoff)
		close(exited)
		k.logf("pod %s/%s: container exited (%s, code %d); restarting", obj.Namespace, obj.Name, reason, code)
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

func (p *pod) wait(reason, message string) {
	p.waiting = &corev1.ContainerStateWaiting{Reason: reason, Message: message}
	p.retryAt = time.Now().Add(2 * time.Second)
}

// containerEnv is the container's environment as the kubelet builds it:
// the spec's values (and the downward API's pod fields), plus the pod's
// IP as HOST: binding every address of a pod's own network namespace is
// binding its IP.
func containerEnv(obj *corev1.Pod, c corev1.Container, ip string) ([]string, error) {
	env := []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOSTNAME=" + obj.Name}
	for _, e := range c.Env {
		v := e.Value
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

// probe runs the readiness probe when its period is due (no probe:
// ready once running, as the kubelet does).
func (p *pod) probe(obj *corev1.Pod, floor time.Duration) {
	c := obj.Spec.Containers[0]
	rp := c.ReadinessProbe
	p.mu.Lock()
	if rp == nil || rp.HTTPGet == nil {
		p.ready = p.cmd != nil
		p.mu.Unlock()
		return
	}
	period := time.Duration(rp.PeriodSeconds) * time.Second
	if period <= 0 || period > time.Second {
		period = time.Second // the journeys wait less than a kubelet would
	}
	if period < floor {
		period = floor
	}
	if time.Since(p.probedAt) < period {
		p.mu.Unlock()
		return
	}
	p.probedAt = time.Now()
	ip := p.ip
	p.mu.Unlock()
	port, err := probePort(c, rp.HTTPGet.Port)
	ok := false
	if err == nil {
		client := http.Client{Timeout: time.Second}
		url := "http://" + net.JoinHostPort(ip, strconv.Itoa(port)) + rp.HTTPGet.Path
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			ok = resp.StatusCode >= 200 && resp.StatusCode < 400
		}
	}
	p.mu.Lock()
	p.ready = ok && p.cmd != nil
	p.mu.Unlock()
}

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

// status is what the kubelet would report now; p.mu is held.
func (p *pod) status(obj *corev1.Pod) *corev1.PodStatus {
	s := obj.Status.DeepCopy()
	s.Phase = corev1.PodRunning
	if p.cmd == nil && p.lastState == nil {
		s.Phase = corev1.PodPending
	}
	// The API holds the loopback address's twin: it refuses loopback
	// endpoints (package podaddr).
	s.HostIP, s.PodIP = "127.0.0.1", podaddr.APIAddress(p.ip)
	s.HostIPs = []corev1.HostIP{{IP: "127.0.0.1"}}
	s.PodIPs = []corev1.PodIP{{IP: s.PodIP}}
	s.StartTime = &p.startTime
	name := p.container
	if name == "" && len(obj.Spec.Containers) > 0 {
		name = obj.Spec.Containers[0].Name
	}
	cs := corev1.ContainerStatus{Name: name, Ready: p.ready, RestartCount: p.restarts, Started: ptr(p.cmd != nil)}
	if len(obj.Spec.Containers) > 0 {
		cs.Image = obj.Spec.Containers[0].Image
		cs.ImageID = "journey://" + obj.Spec.Containers[0].Image
	}
	switch {
	case p.cmd != nil:
		cs.State.Running = &corev1.ContainerStateRunning{StartedAt: p.started}
		cs.ContainerID = fmt.Sprintf("journey://%s-%d", p.uid, p.instance)
	case p.waiting != nil:
		cs.State.Waiting = p.waiting
	default:
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "restarting after the container exited"}
	}
	if p.lastState != nil {
		cs.LastTerminationState.Terminated = p.lastState
	}
	s.ContainerStatuses = []corev1.ContainerStatus{cs}
	ready := corev1.ConditionFalse
	if p.ready {
		ready = corev1.ConditionTrue
	}
	s.Conditions = setConditions(s.Conditions, map[corev1.PodConditionType]corev1.ConditionStatus{
		corev1.PodScheduled: corev1.ConditionTrue, corev1.PodInitialized: corev1.ConditionTrue,
		corev1.ContainersReady: ready, corev1.PodReady: ready,
	})
	return s
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

// log is the container instance's log: the running one, or the one before
// the last restart.
func (p *pod) log(container string, previous bool) (*containerLog, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if container != p.container {
		return nil, fmt.Errorf("container %s is not valid for pod %s", container, p.name)
	}
	l := p.current
	if previous {
		l = p.previous
		if l == nil {
			return nil, fmt.Errorf("previous terminated container %q in pod %q not found", container, p.name)
		}
	} else if l == nil {
		l = p.previous // between a crash and the restart, the last instance's
	}
	if l == nil {
		return nil, fmt.Errorf("container %q in pod %q is waiting to start", container, p.name)
	}
	return l, nil
}

// crash kills the container's process as a crash would; p's own mutex is
// taken.
func (p *pod) crash() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return fmt.Errorf("pod %s/%s has no running container", p.namespace, p.name)
	}
	return p.cmd.Process.Kill()
}

// kill stops the container: SIGTERM, then SIGKILL after grace.
func (p *pod) kill(grace time.Duration) {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.retryAt = time.Now().Add(time.Hour) // never restarted
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(grace):
		cmd.Process.Kill()
		<-exited
	}
}
