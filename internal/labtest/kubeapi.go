package labtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// KubeAPI starts a stand-in for the Kubernetes API server on 127.0.0.1
// that knows the lab's pods: it answers the two calls a client reading
// every pod of a version makes, with the real API's paths and types,
//
//	GET /api/v1/namespaces/NS/pods?labelSelector=SEL      (a PodList)
//	GET /api/v1/namespaces/NS/pods/NAME:PORT/proxy/PATH   (the pod's answer)
//
// and sets the lab's kubeconfig output to reach it. Pods carry the labels
// the components put on them (app=model, version=NAME). Calls counts the
// requests it served, by kind ("list", "proxy").
func (lab *Lab) KubeAPI(t testing.TB) (calls map[string]int) {
	t.Helper()
	calls = map[string]int{}
	ns := lab.Outputs.Namespace
	podsPath := "/api/v1/namespaces/" + ns + "/pods"
	byName := map[string]*Pod{}
	var items []corev1.Pod
	for version, pods := range lab.Pods {
		for _, pod := range pods {
			byName[pod.Name] = pod
			items = append(items, corev1.Pod{
				TypeMeta:   metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"},
				ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: ns, Labels: map[string]string{"app": "model", "version": version}},
				Status:     corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "127.0.0.1"},
			})
		}
	}
	mu := make(chan struct{}, 1)
	count := func(kind string) { mu <- struct{}{}; calls[kind]++; <-mu }
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == podsPath:
			count("list")
			sel, err := labels.Parse(r.URL.Query().Get("labelSelector"))
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			list := corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}}
			for _, p := range items {
				if sel.Matches(labels.Set(p.Labels)) {
					list.Items = append(list.Items, p)
				}
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(list)
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, podsPath+"/"):
			rest := strings.TrimPrefix(r.URL.Path, podsPath+"/")
			target, path, ok := strings.Cut(rest, "/proxy")
			name, _, _ := strings.Cut(target, ":")
			pod := byName[name]
			if !ok || pod == nil {
				http.Error(w, fmt.Sprintf(`pods %q not found`, target), http.StatusNotFound)
				return
			}
			count("proxy")
			resp, err := http.Get(pod.URL + path)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			defer resp.Body.Close()
			w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
			w.WriteHeader(resp.StatusCode)
			io.Copy(w, resp.Body)
		default:
			http.Error(w, "not served by this stand-in: "+r.Method+" "+r.URL.Path, http.StatusNotFound)
		}
	}))
	t.Cleanup(ts.Close)
	lab.Outputs.Kubeconfig = fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster:
    server: %s
contexts:
- name: lab
  context:
    cluster: lab
    user: lab
current-context: lab
users:
- name: lab
  user:
    token: smoketest
`, ts.URL)
	return calls
}
