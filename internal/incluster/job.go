package incluster

import (
	"encoding/json"
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/modelrollouts/modelrollouts/stacks"
)

const (
	// EnvOutputs carries the in-cluster outputs, as JSON, to the Job.
	EnvOutputs = "SMOKE_OUTPUTS"
	// EnvBody carries the shadow check's request body (smoke --body) to
	// the Job, which has no access to the caller's files.
	EnvBody = "SMOKE_BODY"
	// ContainerName is the smoke container of the Job's pod.
	ContainerName = "smoke"
	// JobLabel marks every Job this package creates.
	JobLabel      = "app.kubernetes.io/name"
	JobLabelValue = "modelrollouts-smoke"
	// JobNameLabel is set by the Job controller on its pods.
	JobNameLabel = "batch.kubernetes.io/job-name"

	// Istio's injection switch on a pod: it works in any namespace, with
	// or without the namespace's istio-injection label.
	istioInjectLabel = "sidecar.istio.io/inject"
	// A native sidecar (an init container that keeps running) stops with
	// the pod, so the Job completes when smoke exits.
	istioNativeSidecar = "sidecar.istio.io/nativeSidecar"
)

// JobSpec is what one in-cluster run needs.
type JobSpec struct {
	Name, Namespace string
	// Image is the smoke client image (stack output smokeImage).
	Image string
	// Outputs is the in-cluster view of the stack's outputs.
	Outputs *stacks.Outputs
	// Sidecar asks Istio for a sidecar: the routing applies only to callers
	// with one (the shadow's mesh binding).
	Sidecar bool
	// Args are smoke flags passed through (--margin, --json, ...).
	Args []string
	// Body, when set, is the content of the caller's --body file.
	Body []byte
	// ActiveDeadlineSeconds bounds the Job, image pull and sidecar start
	// included.
	ActiveDeadlineSeconds int64
}

// NewJob builds the Job: one pod, never restarted, that runs smoke on the
// outputs from EnvOutputs and prints only its report. A caller needs an
// Istio sidecar where the routing applies to sidecars only (the shadow's
// mesh binding); elsewhere it gets none, as a plain pod.
func NewJob(s JobSpec) (*batchv1.Job, error) {
	if s.Image == "" {
		return nil, fmt.Errorf("stack output %s is empty: nothing built the smoke client image; set image.build, or image.smokeRef to a published image of cmd/smoke/Dockerfile", stacks.OutputSmokeImage)
	}
	outputs, err := json.Marshal(s.Outputs)
	if err != nil {
		return nil, fmt.Errorf("encode the in-cluster outputs: %w", err)
	}
	inject := "false"
	if s.Sidecar {
		inject = "true"
	}
	args := append([]string{"--outputs-env", EnvOutputs, "--progress=false"}, s.Args...)
	env := []corev1.EnvVar{{Name: EnvOutputs, Value: string(outputs)}}
	if len(s.Body) > 0 {
		args = append(args, "--body-env", EnvBody)
		env = append(env, corev1.EnvVar{Name: EnvBody, Value: string(s.Body)})
	}
	var noRetry int32
	ttl := int32(3600)
	no, yes := false, true
	uid := int64(65532) // distroless nonroot
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name: s.Name, Namespace: s.Namespace,
			Labels: map[string]string{JobLabel: JobLabelValue},
		},
		Spec: batchv1.JobSpec{
			BackoffLimit:            &noRetry,
			ActiveDeadlineSeconds:   &s.ActiveDeadlineSeconds,
			TTLSecondsAfterFinished: &ttl,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels:      map[string]string{JobLabel: JobLabelValue, istioInjectLabel: inject},
					Annotations: map[string]string{istioNativeSidecar: "true"},
				},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					// smoke only speaks HTTP to the model: no API access.
					AutomountServiceAccountToken: &no,
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   &yes,
						RunAsUser:      &uid,
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:            ContainerName,
						Image:           s.Image,
						ImagePullPolicy: corev1.PullIfNotPresent,
						Args:            args,
						Env:             env,
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
							Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("256Mi")},
						},
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: &no,
							ReadOnlyRootFilesystem:   &yes,
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
					}},
				},
			},
		},
	}, nil
}
