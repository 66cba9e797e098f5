package incluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/modelrollouts/modelrollouts/stacks"
)

// Runner runs smoke as a Job and collects its result.
type Runner struct {
	Client kubernetes.Interface
	// Poll is how often the Job is read; 0 means every 2 s.
	Poll time.Duration
	// Logs reads a container's log; nil reads it through the API.
	Logs func(ctx context.Context, namespace, pod, container string) ([]byte, error)
	// Keep leaves the finished Job for inspection (it expires after an
	// hour); otherwise it is deleted with its pod.
	Keep bool
}

// Options of one run.
type Options struct {
	// Namespace of the Job; empty means the model's. A shadow stack's
	// sidecar is injected by pod label, so any namespace works.
	Namespace string
	// Args are smoke flags passed through to the Job.
	Args []string
	// Body is the content of smoke's --body file, handed to the Job in
	// its environment.
	Body []byte
	// Timeout bounds the run in the Job; the Job gets two more minutes
	// for the image and the sidecar to start.
	Timeout time.Duration
}

// Result is what came back from the cluster.
type Result struct {
	Namespace, Job, Pod string
	// ExitCode is smoke's: 0 pass, 1 a check failed, 2 no run.
	ExitCode int32
	// Log is the container's output: the report (or, with exit code 2,
	// why there is none).
	Log []byte
}

// Run creates the Job for the stack's outputs, waits for it and returns
// smoke's exit code and report.
func (r *Runner) Run(ctx context.Context, o *stacks.Outputs, opts Options) (*Result, error) {
	view, err := o.InClusterView()
	if err != nil {
		return nil, err
	}
	ns := opts.Namespace
	if ns == "" {
		ns = o.Namespace
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	job, err := NewJob(JobSpec{
		Name: jobName(), Namespace: ns, Image: o.SmokeImage, Outputs: view, Sidecar: o.InCluster.Sidecar,
		Args:                  append(append([]string(nil), opts.Args...), "--timeout", timeout.String()),
		Body:                  opts.Body,
		ActiveDeadlineSeconds: int64((timeout + 2*time.Minute).Seconds()),
	})
	if err != nil {
		return nil, err
	}
	jobs := r.Client.BatchV1().Jobs(ns)
	if _, err := jobs.Create(ctx, job, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("create Job %s/%s: %w", ns, job.Name, err)
	}
	if !r.Keep {
		defer func() {
			// Also after an interrupt: the Job must not outlive the run.
			bg := metav1.DeletePropagationBackground
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			_ = jobs.Delete(dctx, job.Name, metav1.DeleteOptions{PropagationPolicy: &bg})
		}()
	}
	res := &Result{Namespace: ns, Job: job.Name}
	pod, err := r.wait(ctx, ns, job.Name)
	if pod != nil {
		res.Pod = pod.Name
	}
	if err != nil {
		return res, err
	}
	code, ok := exitCode(pod)
	if !ok {
		return res, fmt.Errorf("Job %s/%s finished but pod %s has no exit code for container %s", ns, job.Name, pod.Name, ContainerName)
	}
	res.ExitCode = code
	res.Log, err = r.logs(ctx, ns, pod.Name)
	if err != nil {
		return res, fmt.Errorf("read the report from pod %s/%s: %w", ns, pod.Name, err)
	}
	return res, nil
}

// wait polls until the smoke container has terminated, the Job failed
// without it, or the pod cannot start (its image is missing, say).
func (r *Runner) wait(ctx context.Context, ns, name string) (*corev1.Pod, error) {
	poll := r.Poll
	if poll <= 0 {
		poll = 2 * time.Second
	}
	for {
		pod, err := r.pod(ctx, ns, name)
		if err != nil {
			return nil, err
		}
		if pod != nil {
			if _, done := exitCode(pod); done {
				return pod, nil
			}
			if why := stuck(pod); why != "" {
				return pod, fmt.Errorf("pod %s/%s cannot start: %s", ns, pod.Name, why)
			}
		}
		job, err := r.Client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return pod, fmt.Errorf("read Job %s/%s: %w", ns, name, err)
		}
		if c := failed(job); c != nil {
			return pod, fmt.Errorf("Job %s/%s failed before smoke finished: %s: %s", ns, name, c.Reason, c.Message)
		}
		select {
		case <-ctx.Done():
			return pod, fmt.Errorf("waiting for Job %s/%s: %w", ns, name, ctx.Err())
		case <-time.After(poll):
		}
	}
}

func (r *Runner) pod(ctx context.Context, ns, job string) (*corev1.Pod, error) {
	pods, err := r.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: JobNameLabel + "=" + job})
	if err != nil {
		return nil, fmt.Errorf("list the pods of Job %s/%s: %w", ns, job, err)
	}
	if len(pods.Items) == 0 {
		return nil, nil
	}
	// BackoffLimit 0: at most one pod.
	return &pods.Items[0], nil
}

func (r *Runner) logs(ctx context.Context, ns, pod string) ([]byte, error) {
	if r.Logs != nil {
		return r.Logs(ctx, ns, pod, ContainerName)
	}
	return r.Client.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: ContainerName}).DoRaw(ctx)
}

// exitCode is the smoke container's, once it has terminated.
func exitCode(pod *corev1.Pod) (int32, bool) {
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name == ContainerName && cs.State.Terminated != nil {
			return cs.State.Terminated.ExitCode, true
		}
	}
	return 0, false
}

// stuck names a waiting reason that will not resolve by waiting.
func stuck(pod *corev1.Pod) string {
	for _, cs := range pod.Status.ContainerStatuses {
		w := cs.State.Waiting
		if cs.Name != ContainerName || w == nil {
			continue
		}
		switch w.Reason {
		case "ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName", "CreateContainerConfigError":
			return fmt.Sprintf("%s: %s (the smoke client image is built and loaded by `make up`; on other clusters set image.smokeRef)", w.Reason, w.Message)
		}
	}
	return ""
}

func failed(job *batchv1.Job) *batchv1.JobCondition {
	for i, c := range job.Status.Conditions {
		if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue {
			return &job.Status.Conditions[i]
		}
	}
	return nil
}

func jobName() string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(errors.New("no randomness")) // crypto/rand does not fail on Linux
	}
	return "smoke-" + hex.EncodeToString(b[:])
}
