package incluster

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/modelrollouts/modelrollouts/stacks"
)

func pct(n int) *int { return &n }

func shadowOutputs() *stacks.Outputs {
	mirror := 50.0
	return &stacks.Outputs{
		Strategy: stacks.StrategyShadow, Namespace: "models", IngressURL: "http://127.0.0.1:8081", Host: "model.example.com",
		Versions: map[string]stacks.VersionOutput{
			"v1": {Target: "model v1", Host: "v1.model.example.com", URL: "http://v1.model.example.com", Role: "primary"},
			"v2": {Target: "model v2", Host: "v2.model.example.com", URL: "http://v2.model.example.com", Role: "shadow"},
		},
		Primary: "v1", Shadow: "v2", MirrorPercent: &mirror, BindTo: stacks.BindBoth,
		Kubeconfig: "apiVersion: v1\nkind: Config\n# secret",
		InCluster: &stacks.InClusterOutputs{
			URL: "http://model.models.svc.cluster.local", Host: "model.models.svc.cluster.local", Sidecar: true,
			VersionHosts: map[string]string{"v1": "v1.model.example.com", "v2": "v2.model.example.com"},
		},
		SmokeImage: "kind.local/model-echo-smoke:0123456789ab",
	}
}

func canaryOutputs() *stacks.Outputs {
	return &stacks.Outputs{
		Strategy: stacks.StrategyCanary, Namespace: "models", IngressURL: "http://127.0.0.1:8080", Host: "model.models.example.com",
		Versions: map[string]stacks.VersionOutput{
			"v1": {Target: "model v1", Host: "v1-model.models.example.com", Tag: "v1", Percent: pct(90)},
			"v2": {Target: "model v2", Host: "v2-model.models.example.com", Tag: "v2", Percent: pct(10)},
		},
		Split: map[string]int{"v1": 90, "v2": 10},
		InCluster: &stacks.InClusterOutputs{
			URL: "http://model.models.svc.cluster.local", Host: "model.models.svc.cluster.local",
			VersionHosts: map[string]string{"v1": "v1-model.models.svc.cluster.local", "v2": "v2-model.models.svc.cluster.local"},
		},
		SmokeImage: "kind.local/model-echo-smoke:0123456789ab",
	}
}

func jobFor(t *testing.T, o *stacks.Outputs) *batchv1.Job {
	t.Helper()
	view, err := o.InClusterView()
	if err != nil {
		t.Fatal(err)
	}
	job, err := NewJob(JobSpec{Name: "smoke-x", Namespace: "models", Image: o.SmokeImage, Outputs: view, Sidecar: o.InCluster.Sidecar,
		Args: []string{"--json=true"}, ActiveDeadlineSeconds: 720})
	if err != nil {
		t.Fatal(err)
	}
	return job
}

func TestTheJobCarriesTheOutputsAsACallerInsideTheClusterSeesThem(t *testing.T) {
	job := jobFor(t, shadowOutputs())
	c := job.Spec.Template.Spec.Containers[0]
	if c.Image != "kind.local/model-echo-smoke:0123456789ab" || c.ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("image %q pull %q: a kind-loaded image is never pulled", c.Image, c.ImagePullPolicy)
	}
	if got := strings.Join(c.Args, " "); got != "--outputs-env SMOKE_OUTPUTS --progress=false --json=true" {
		t.Errorf("args %q", got)
	}
	var in stacks.Outputs
	if err := json.Unmarshal([]byte(c.Env[0].Value), &in); err != nil || c.Env[0].Name != EnvOutputs {
		t.Fatalf("env %v: %v", c.Env, err)
	}
	if in.IngressURL != "http://model.models.svc.cluster.local" || in.Host != "model.models.svc.cluster.local" {
		t.Errorf("the Job calls %q with Host %q, want the Service", in.IngressURL, in.Host)
	}
	if in.Versions["v2"].Host != "v2.model.example.com" || in.Versions["v2"].Target != "model v2" {
		t.Errorf("versions[v2] %+v", in.Versions["v2"])
	}
	if in.Kubeconfig != "" || strings.Contains(c.Env[0].Value, "secret") {
		t.Error("the kubeconfig reached the Job")
	}
	if err := in.Check(); err != nil {
		t.Errorf("the Job's outputs do not pass smoke's own check: %v", err)
	}
}

func TestAShadowJobAsksForANativeSidecarAndACanaryJobForNone(t *testing.T) {
	for _, tc := range []struct {
		name   string
		o      *stacks.Outputs
		inject string
	}{{"shadow", shadowOutputs(), "true"}, {"canary", canaryOutputs(), "false"}} {
		job := jobFor(t, tc.o)
		pod := job.Spec.Template
		if got := pod.Labels["sidecar.istio.io/inject"]; got != tc.inject {
			t.Errorf("%s: sidecar.istio.io/inject=%q, want %q", tc.name, got, tc.inject)
		}
		if pod.Annotations["sidecar.istio.io/nativeSidecar"] != "true" {
			t.Errorf("%s: without a native sidecar the Job never completes", tc.name)
		}
		if pod.Spec.RestartPolicy != corev1.RestartPolicyNever || *job.Spec.BackoffLimit != 0 {
			t.Errorf("%s: a failed smoke must not be retried (restart %q, backoff %d)", tc.name, pod.Spec.RestartPolicy, *job.Spec.BackoffLimit)
		}
		if *pod.Spec.AutomountServiceAccountToken {
			t.Errorf("%s: smoke needs no API token", tc.name)
		}
		sc := pod.Spec.Containers[0].SecurityContext
		if *sc.AllowPrivilegeEscalation || !*sc.ReadOnlyRootFilesystem || !*pod.Spec.SecurityContext.RunAsNonRoot {
			t.Errorf("%s: not restricted", tc.name)
		}
	}
}

func TestAStackWithoutASmokeImageOrInClusterRoutingSaysWhichKey(t *testing.T) {
	o := shadowOutputs()
	o.SmokeImage = ""
	view, _ := o.InClusterView()
	if _, err := NewJob(JobSpec{Name: "x", Outputs: view}); err == nil || !strings.Contains(err.Error(), "image.smokeRef") {
		t.Errorf("no smoke image: %v", err)
	}
	o = shadowOutputs()
	o.InCluster, o.BindTo = nil, stacks.BindGateway
	r := &Runner{Client: fake.NewClientset()}
	if _, err := r.Run(context.Background(), o, Options{}); err == nil || !strings.Contains(err.Error(), "bindTo") {
		t.Errorf("gateway-only stack: %v", err)
	}
}

// finishPods plays the Job controller and kubelet: once the Job exists, its
// pod appears in the given state.
func finishPods(t *testing.T, cs *fake.Clientset, status corev1.ContainerStatus) {
	t.Helper()
	go func() {
		// Until the Job appears, however long a loaded machine takes
		// to create it (200 polls of 5 ms gave up after ~1 s).
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
			jobs, _ := cs.BatchV1().Jobs("models").List(context.Background(), metav1.ListOptions{})
			if len(jobs.Items) == 1 {
				status.Name = ContainerName
				pod := &corev1.Pod{
					ObjectMeta: metav1.ObjectMeta{Name: jobs.Items[0].Name + "-abcde", Namespace: "models",
						Labels: map[string]string{JobNameLabel: jobs.Items[0].Name}},
					Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{status}},
				}
				cs.CoreV1().Pods("models").Create(context.Background(), pod, metav1.CreateOptions{})
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
}

func TestTheReportAndExitCodeComeBackThroughTheAPIAndTheJobIsDeleted(t *testing.T) {
	cs := fake.NewClientset()
	finishPods(t, cs, corev1.ContainerStatus{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}}})
	var readFrom string
	r := &Runner{Client: cs, Poll: 5 * time.Millisecond, Logs: func(_ context.Context, ns, pod, container string) ([]byte, error) {
		readFrom = ns + "/" + pod + "/" + container
		return []byte("FAIL: mirrored copies\n"), nil
	}}
	res, err := r.Run(context.Background(), shadowOutputs(), Options{Args: []string{"--n=100"}, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 1 || string(res.Log) != "FAIL: mirrored copies\n" || readFrom != "models/"+res.Pod+"/smoke" {
		t.Errorf("result %+v, log read from %q", res, readFrom)
	}
	jobs, _ := cs.BatchV1().Jobs("models").List(context.Background(), metav1.ListOptions{})
	if len(jobs.Items) != 0 {
		t.Errorf("%d Jobs left behind", len(jobs.Items))
	}
	// The Job was created with the run's deadline and pass-through flags.
	var created *batchv1.Job
	for _, a := range cs.Actions() {
		if a.GetVerb() == "create" && a.GetResource().Resource == "jobs" {
			created = a.(k8stesting.CreateAction).GetObject().(*batchv1.Job)
		}
	}
	if created == nil {
		t.Fatal("no Job created")
	}
	args := strings.Join(created.Spec.Template.Spec.Containers[0].Args, " ")
	if !strings.Contains(args, "--n=100") || !strings.HasSuffix(args, "--timeout 1m0s") || *created.Spec.ActiveDeadlineSeconds != 180 {
		t.Errorf("args %q deadline %d", args, *created.Spec.ActiveDeadlineSeconds)
	}
}

func TestAMissingSmokeImageFailsFastWithTheReason(t *testing.T) {
	cs := fake.NewClientset()
	finishPods(t, cs, corev1.ContainerStatus{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
		Reason: "ErrImageNeverPull", Message: "image not present with pull policy of Never"}}})
	r := &Runner{Client: cs, Poll: 5 * time.Millisecond, Keep: true}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := r.Run(ctx, shadowOutputs(), Options{Namespace: "models"})
	if err == nil || !strings.Contains(err.Error(), "ErrImageNeverPull") || !strings.Contains(err.Error(), "make up") {
		t.Errorf("err %v", err)
	}
	if jobs, _ := cs.BatchV1().Jobs("models").List(ctx, metav1.ListOptions{}); len(jobs.Items) != 1 {
		t.Errorf("Keep: %d Jobs, want the one kept", len(jobs.Items))
	}
}

func TestAJobThatFailsWithoutAPodSaysWhy(t *testing.T) {
	cs := fake.NewClientset()
	go func() {
		// Until the Job appears, however long a loaded machine takes
		// to create it (200 polls of 5 ms gave up after ~1 s).
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
			jobs, _ := cs.BatchV1().Jobs("other").List(context.Background(), metav1.ListOptions{})
			if len(jobs.Items) == 1 {
				j := jobs.Items[0]
				j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "DeadlineExceeded", Message: "Job was active longer than specified deadline"}}
				cs.BatchV1().Jobs("other").UpdateStatus(context.Background(), &j, metav1.UpdateOptions{})
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	r := &Runner{Client: cs, Poll: 5 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := r.Run(ctx, canaryOutputs(), Options{Namespace: "other"})
	if err == nil || !strings.Contains(err.Error(), "DeadlineExceeded") {
		t.Errorf("err %v", err)
	}
}

// smoke --body names a file on the caller's machine: the Job gets its
// content in the environment and reads it from there.
func TestTheJobCarriesTheShadowRequestBodyNotTheCallersFileName(t *testing.T) {
	o := shadowOutputs()
	view, err := o.InClusterView()
	if err != nil {
		t.Fatal(err)
	}
	body := `{"inputs":[{"name":"input-0","shape":[1,4],"datatype":"FP64","data":[[5.1,3.5,1.4,0.2]]}]}`
	job, err := NewJob(JobSpec{Name: "smoke-x", Namespace: "models", Image: o.SmokeImage, Outputs: view,
		Args: []string{"--path=/v2/models/model/infer"}, Body: []byte(body), ActiveDeadlineSeconds: 720})
	if err != nil {
		t.Fatal(err)
	}
	c := job.Spec.Template.Spec.Containers[0]
	if got := strings.Join(c.Args, " "); got != "--outputs-env SMOKE_OUTPUTS --progress=false --path=/v2/models/model/infer --body-env SMOKE_BODY" {
		t.Errorf("args %q", got)
	}
	if len(c.Env) != 2 || c.Env[1].Name != EnvBody || c.Env[1].Value != body {
		t.Errorf("env %v, want %s with the body", c.Env, EnvBody)
	}
}
