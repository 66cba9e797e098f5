//go:build slow

package node

import (
	"net/http"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/modelrollouts/modelrollouts/test/journey/lab/podaddr"
)

// A pod being deleted runs its container's preStop sleep first, still
// answering (what the gateway sends it before it drops the pod, as a
// Knative pod's queue-proxy drains), then gets SIGTERM and exits by itself
// (code 0), not SIGKILL.
func TestADeletedPodAnswersThroughItsPreStopSleepThenStopsOnSIGTERM(t *testing.T) {
	k, client, ctx := startNode(t, modelEchoImage(buildModelEcho(t)))
	p := modelPod("draining", "8080")
	p.UID = "uid-draining"
	p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 1}}}
	if _, err := client.CoreV1().Pods("models").Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var url string
	waitFor(t, "the pod's IP", func() bool {
		got, err := client.CoreV1().Pods("models").Get(ctx, "draining", metav1.GetOptions{})
		if err != nil || got.Status.PodIP == "" {
			return false
		}
		url = "http://" + podaddr.Loopback(got.Status.PodIP) + ":8080/"
		return true
	})
	answers := func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	waitFor(t, "the model answering", answers)

	// What the API server does on a graceful delete.
	got, err := client.CoreV1().Pods("models").Get(ctx, "draining", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now, grace := metav1.Now(), int64(30)
	got.DeletionTimestamp, got.DeletionGracePeriodSeconds = &now, &grace
	if _, err := client.CoreV1().Pods("models").Update(ctx, got, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	deleted := time.Now()
	for time.Since(deleted) < 700*time.Millisecond {
		if !answers() {
			t.Fatalf("the pod stopped answering %s after its deletion, inside its 1 s preStop sleep", time.Since(deleted).Round(time.Millisecond))
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitFor(t, "the model stopping after its preStop sleep", func() bool { return !answers() })
	if took := time.Since(deleted); took > 5*time.Second {
		t.Errorf("the model stopped %s after its deletion: want soon after the 1 s sleep (SIGTERM), long before the 30 s grace (SIGKILL)", took)
	}
	k.mu.Lock()
	_, kept := k.pods[p.UID]
	k.mu.Unlock()
	if kept {
		t.Errorf("the kubelet still holds the deleted pod")
	}
}
