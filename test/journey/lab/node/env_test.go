package node

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A container's env as a runtime builds it: the image's ENV first, the
// spec's over it; an address on the loopback is the pod's own (its IP
// here), and HOST is the pod's IP.
func TestAContainersEnvPutsTheSpecOverTheImageAndItsLoopbackOnThePodsIP(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "model-v1-abc", Namespace: "models"}}
	c := corev1.Container{Env: []corev1.EnvVar{
		{Name: "MODEL_NAME", Value: "model"},
		{Name: "MODEL_UPSTREAM", Value: "127.0.0.1:8081"},
		{Name: "LOGGER_URL", Value: "http://localhost:9000/events"},
		{Name: "TARGET", Value: "v1 at 127.0.0.10"},
	}}
	env, err := containerEnv(pod, c, "127.0.1.7", []string{"MODEL_NAME=iris", "MODEL_PATH=/models/v1/model.joblib"})
	if err != nil {
		t.Fatal(err)
	}
	last := map[string]string{}
	for _, kv := range env {
		for i := range kv {
			if kv[i] == '=' {
				last[kv[:i]] = kv[i+1:]
				break
			}
		}
	}
	want := map[string]string{
		"MODEL_NAME": "model", "MODEL_PATH": "/models/v1/model.joblib", "MODEL_UPSTREAM": "127.0.1.7:8081",
		"LOGGER_URL": "http://127.0.1.7:9000/events", "TARGET": "v1 at 127.0.0.10", "HOST": "127.0.1.7", "HOSTNAME": "model-v1-abc",
	}
	for k, v := range want {
		if last[k] != v {
			t.Errorf("%s=%q, want %q (env %v)", k, last[k], v, env)
		}
	}
	if i, j := slices.Index(env, "MODEL_NAME=iris"), slices.Index(env, "MODEL_NAME=model"); i < 0 || j < i {
		t.Errorf("the image's MODEL_NAME must come before the spec's, which wins: %v", env)
	}
}
