//go:build slow

package node

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
	"github.com/modelrollouts/modelrollouts/test/journey/lab/podaddr"
)

func buildModelEcho(t *testing.T) string { return buildCommand(t, "model-echo") }

func buildCommand(t *testing.T, pkg string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), pkg)
	cmd := exec.Command("go", "build", "-o", bin, "./"+pkg)
	cmd.Dir = "../../../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./%s: %v\n%s", pkg, err, out)
	}
	return bin
}

// startNode runs the node stand-in on a fake API server, syncing every
// 50 ms, its images mapped by binary; it stops when the test ends.
func startNode(t *testing.T, binary func(corev1.Container) (Process, error)) (*Kubelet, *fake.Clientset, context.Context) {
	t.Helper()
	client := fake.NewClientset()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	k, err := Start(ctx, Options{Client: client, NodeName: "journey-node", Dir: t.TempDir(), Sync: 50 * time.Millisecond, Binary: binary})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Stop)
	return k, client, ctx
}

// modelEchoImage runs bin for model-echo's image; any other is not found.
func modelEchoImage(bin string) func(corev1.Container) (Process, error) {
	return func(c corev1.Container) (Process, error) {
		if strings.HasPrefix(c.Image, "kind.local/model-echo:") {
			return Entrypoint(bin, c), nil
		}
		return Process{}, os.ErrNotExist
	}
}

func modelPod(name, port string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "models", UID: "uid-" + "name"},
		Spec: corev1.PodSpec{NodeName: "journey-node", Containers: []corev1.Container{{
			Name: modelapi.ContainerName, Image: "kind.local/model-echo:abc",
			Env:   []corev1.EnvVar{{Name: modelapi.EnvTarget, Value: "model v1"}, {Name: modelapi.EnvModelVersion, Value: "v1"}, {Name: "PORT", Value: port}},
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Path: modelapi.PathReady, Port: intstr.FromString("http")}}, PeriodSeconds: 1},
		}}},
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The stand-in runs the pod's own env: a pod whose PORT disagrees with the
// port its probe and Service use never becomes Ready, as on a real node.
func TestAPodRunsTheImagesBinaryWithItsEnvAndIsReadyOnlyOnItsDeclaredPort(t *testing.T) {
	k, client, ctx := startNode(t, modelEchoImage(buildModelEcho(t)))
	good, wrong := modelPod("good", "8080"), modelPod("wrong-port", "9090")
	wrong.UID = "uid-wrong"
	good.UID = "uid-good"
	for _, p := range []*corev1.Pod{good, wrong} {
		if _, err := client.CoreV1().Pods("models").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	get := func(name string) *corev1.Pod {
		p, err := client.CoreV1().Pods("models").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	ready := func(p *corev1.Pod) bool {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady {
				return c.Status == corev1.ConditionTrue
			}
		}
		return false
	}
	waitFor(t, "pod good Ready", func() bool { return ready(get("good")) })
	// The API holds a routable-looking twin (it refuses loopback
	// endpoints); the process listens on the loopback address.
	apiIP := get("good").Status.PodIP
	if !strings.HasPrefix(apiIP, "198.18.") {
		t.Fatalf("pod good's status IP is %q, want its 198.18.0.0/16 twin: the API server refuses loopback endpoints", apiIP)
	}
	ip := podaddr.Loopback(apiIP)
	resp, err := http.Get("http://" + ip + ":8080/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "model v1") || resp.Header.Get(modelapi.HeaderModelVersion) != "v1" {
		t.Fatalf("GET / on %s: %q %v", ip, body, resp.Header)
	}
	// The wrong port's pod runs (its log says where it listens) but is not Ready.
	time.Sleep(1500 * time.Millisecond)
	if p := get("wrong-port"); ready(p) || p.Status.Phase != corev1.PodRunning {
		t.Fatalf("wrong-port pod: phase %s ready %v; want Running and not Ready", p.Status.Phase, ready(p))
	}

	// Logs through the kubelet API, then a crash: restart counted, the
	// previous instance's log still served.
	node, _ := client.CoreV1().Nodes().Get(ctx, "journey-node", metav1.GetOptions{})
	port := node.Status.DaemonEndpoints.KubeletEndpoint.Port
	logs := func(query string) (int, string) {
		c := http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		resp, err := c.Get("https://127.0.0.1:" + itoa(port) + "/containerLogs/models/good/model" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, text := logs(""); code != 200 || !strings.Contains(text, "serving") {
		t.Fatalf("logs: %d %q", code, text)
	}
	if code, _ := logs("?previous=true"); code != 400 {
		t.Fatalf("previous log before any restart: %d, want 400", code)
	}
	if err := k.Crash("models", "good"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "restart counted and Ready again", func() bool {
		p := get("good")
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].RestartCount == 1 && ready(p)
	})
	if code, text := logs("?previous=true&timestamps=true"); code != 200 || !strings.Contains(text, "serving") || !strings.Contains(text, "Z ") {
		t.Fatalf("previous log: %d %q", code, text)
	}
	if last := get("good").Status.ContainerStatuses[0].LastTerminationState.Terminated; last == nil || last.ExitCode != 137 {
		t.Fatalf("last state %+v, want killed (137)", last)
	}
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }
