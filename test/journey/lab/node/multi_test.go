//go:build slow

package node

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
	"github.com/modelrollouts/modelrollouts/test/journey/lab/podaddr"
)

// agentPod is the shape components/agent.go gives a version with its own
// model: the model (here model-echo on PORT 8081, no port, no probe) and
// model-agent from the model-echo image with its command, owning the
// serving port and probed on /ready, reaching the model on 127.0.0.1.
func agentPod(name string) *corev1.Pod {
	image := "kind.local/model-echo:abc"
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "models", UID: "uid-" + "two"},
		Spec: corev1.PodSpec{NodeName: "journey-node", Containers: []corev1.Container{{
			Name: modelapi.ContainerName, Image: image,
			Env: []corev1.EnvVar{{Name: modelapi.EnvTarget, Value: "model v1"}, {Name: modelapi.EnvModelVersion, Value: "v1"},
				{Name: modelapi.EnvPort, Value: "8081"}},
		}, {
			Name: modelapi.AgentContainerName, Image: image, Command: modelapi.AgentCommand,
			Env: []corev1.EnvVar{{Name: modelapi.EnvModelUpstream, Value: "127.0.0.1:8081"},
				{Name: modelapi.EnvModelReadinessPath, Value: modelapi.PathReady},
				{Name: modelapi.EnvModelName, Value: "model"}, {Name: modelapi.EnvModelVersion, Value: "v1"}},
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: int32(modelapi.Port)}},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Path: modelapi.PathReady, Port: intstr.FromString("http")}}, PeriodSeconds: 1},
		}}},
	}
}

// twoContainerNode runs a node whose Binary maps the model-echo image with
// the agent's command to model-agent, and refuses a container whose name
// is in refused (as an image pull error would), so a test can keep one
// container down.
func twoContainerNode(t *testing.T, refused *atomic.Value) (*Kubelet, *fake.Clientset, context.Context) {
	t.Helper()
	echo, agent := buildModelEcho(t), buildCommand(t, "model-agent")
	refused.Store("")
	k, client, ctx := startNode(t, func(c corev1.Container) (Process, error) {
		if refused.Load().(string) == c.Name {
			return Process{}, fmt.Errorf("image of %s refused by the test", c.Name)
		}
		if slices.Equal(c.Command, modelapi.AgentCommand) {
			return Process{Path: agent, Args: c.Args}, nil
		}
		return Entrypoint(echo, c), nil
	})
	if _, err := client.CoreV1().Pods("models").Create(ctx, agentPod("two"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return k, client, ctx
}

func getPod(t *testing.T, ctx context.Context, client *fake.Clientset, name string) *corev1.Pod {
	t.Helper()
	p, err := client.CoreV1().Pods("models").Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func statusOf(p *corev1.Pod, container string) corev1.ContainerStatus {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == container {
			return cs
		}
	}
	return corev1.ContainerStatus{}
}

// containerLogs reads one container's log through the kubelet API, as the
// API server proxies `kubectl logs POD -c CONTAINER`.
func containerLogs(t *testing.T, ctx context.Context, client *fake.Clientset, pod, container, query string) (int, string) {
	t.Helper()
	node, err := client.CoreV1().Nodes().Get(ctx, "journey-node", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	url := fmt.Sprintf("https://127.0.0.1:%d/containerLogs/models/%s/%s%s", node.Status.DaemonEndpoints.KubeletEndpoint.Port, pod, container, query)
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A pod of the model and model-agent: both run on the pod's IP, the agent
// reaches the model on the pod's own loopback, answers with the model's
// body and its version header, and each container's log is served by its
// name.
func TestAPodOfTwoContainersRunsBothOnItsIPAndServesEachOnesLogByName(t *testing.T) {
	var refused atomic.Value
	_, client, ctx := twoContainerNode(t, &refused)
	waitFor(t, "pod two Ready", func() bool { return podReady(getPod(t, ctx, client, "two")) })
	p := getPod(t, ctx, client, "two")
	var names []string
	for _, cs := range p.Status.ContainerStatuses {
		names = append(names, cs.Name)
		if !cs.Ready || cs.State.Running == nil {
			t.Errorf("container %s: ready %v, state %+v; want running and ready", cs.Name, cs.Ready, cs.State)
		}
	}
	if want := []string{modelapi.ContainerName, modelapi.AgentContainerName}; !slices.Equal(names, want) {
		t.Fatalf("container statuses %v, want %v in spec order", names, want)
	}
	ip := podaddr.Loopback(p.Status.PodIP) // the API holds its 198.18 twin
	resp, err := http.Get("http://" + ip + ":8080/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "model v1") || resp.Header.Get(modelapi.HeaderModelVersion) != "v1" {
		t.Fatalf("GET / through the agent on %s: %d %q %v", ip, resp.StatusCode, body, resp.Header)
	}
	model, agentLog := "", ""
	waitFor(t, "both containers' logs", func() bool {
		_, model = containerLogs(t, ctx, client, "two", modelapi.ContainerName, "")
		_, agentLog = containerLogs(t, ctx, client, "two", modelapi.AgentContainerName, "")
		return strings.Contains(model, "serving") && strings.Contains(agentLog, "serving")
	})
	// The agent's start line names its upstream: the pod's own 8081.
	if strings.Contains(model, `"upstream"`) || !strings.Contains(agentLog, `"upstream":"`+ip+`:8081"`) {
		t.Errorf("logs mixed up, or the agent not on the pod's loopback:\nmodel: %s\nmodel-agent: %s", model, agentLog)
	}
	if code, text := containerLogs(t, ctx, client, "two", "sidecar", ""); code != http.StatusBadRequest || !strings.Contains(text, "model, model-agent") {
		t.Errorf("log of a container the pod lacks: %d %q; want 400 naming its containers", code, text)
	}
}

// A crash of one container restarts only it, and the pod is NotReady
// while either container is not: the model kept down makes the agent
// unready too (it asks the model), the agent kept down leaves the model
// ready but the pod not.
func TestACrashRestartsOnlyThatContainerAndThePodIsNotReadyWhileEitherIsDown(t *testing.T) {
	var refused atomic.Value
	k, client, ctx := twoContainerNode(t, &refused)
	waitFor(t, "pod two Ready", func() bool { return podReady(getPod(t, ctx, client, "two")) })
	agentStarted := statusOf(getPod(t, ctx, client, "two"), modelapi.AgentContainerName).State.Running.StartedAt

	refused.Store(modelapi.ContainerName)
	if err := k.CrashContainer("models", "two", modelapi.ContainerName); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the model waiting and the pod NotReady", func() bool {
		p := getPod(t, ctx, client, "two")
		m := statusOf(p, modelapi.ContainerName)
		return !podReady(p) && m.State.Waiting != nil && m.State.Waiting.Reason == "ErrImagePull" && m.RestartCount == 1
	})
	refused.Store("")
	waitFor(t, "the model restarted and the pod Ready", func() bool { return podReady(getPod(t, ctx, client, "two")) })
	p := getPod(t, ctx, client, "two")
	m, a := statusOf(p, modelapi.ContainerName), statusOf(p, modelapi.AgentContainerName)
	if m.RestartCount != 1 || m.LastTerminationState.Terminated == nil || m.LastTerminationState.Terminated.ExitCode != 137 {
		t.Errorf("model: %d restarts, last state %+v; want 1, killed (137)", m.RestartCount, m.LastTerminationState.Terminated)
	}
	if a.RestartCount != 0 || a.LastTerminationState.Terminated != nil || a.State.Running == nil || !a.State.Running.StartedAt.Equal(&agentStarted) {
		t.Errorf("model-agent: %d restarts, state %+v; want its first instance still running", a.RestartCount, a.State)
	}
	if code, text := containerLogs(t, ctx, client, "two", modelapi.ContainerName, "?previous=true"); code != http.StatusOK || !strings.Contains(text, "serving") {
		t.Errorf("the model's previous log: %d %q", code, text)
	}
	if code, _ := containerLogs(t, ctx, client, "two", modelapi.AgentContainerName, "?previous=true"); code != http.StatusBadRequest {
		t.Errorf("the agent's previous log: %d; want 400, it never restarted", code)
	}

	// The agent down: the model alone is ready, the pod is not.
	refused.Store(modelapi.AgentContainerName)
	if err := k.CrashContainer("models", "two", modelapi.AgentContainerName); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the agent waiting and the pod NotReady while the model is ready", func() bool {
		p := getPod(t, ctx, client, "two")
		return !podReady(p) && statusOf(p, modelapi.ContainerName).Ready && !statusOf(p, modelapi.AgentContainerName).Ready
	})
	refused.Store("")
	waitFor(t, "the agent restarted and the pod Ready", func() bool {
		p := getPod(t, ctx, client, "two")
		return podReady(p) && statusOf(p, modelapi.AgentContainerName).RestartCount == 1 && statusOf(p, modelapi.ContainerName).RestartCount == 1
	})
}
