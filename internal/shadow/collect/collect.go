// Package collect finds the container logs that hold payload events: the
// model container of every pod of the versions compared, and the previous
// instance of every container that restarted, read through the Kubernetes
// API (client-go, the pods/log subresource); or the files of a directory
// of saved logs. Reading can copy each log to a directory, so a report can
// be made again later from exactly the same data.
package collect

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/client-go/kubernetes"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

// Log is one container log.
type Log struct {
	// Name says where the log is from: "pod/container", with
	// " (previous)" for a restarted container's previous instance, or the
	// file's path relative to the logs directory.
	Name string
	// Size in bytes when known ahead (files), else -1.
	Size int64
	open func(ctx context.Context) (io.ReadCloser, error)
}

// Open starts reading the log.
func (l Log) Open(ctx context.Context) (io.ReadCloser, error) { return l.open(ctx) }

// FromDir lists every regular file under dir (hidden ones aside) as a log,
// sorted by path: `kubectl logs` output, or a node's CRI log files.
func FromDir(dir string) ([]Log, error) {
	var logs []Log
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && path != dir {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			rel = path
		}
		logs = append(logs, Log{Name: rel, Size: info.Size(), open: func(context.Context) (io.ReadCloser, error) {
			return os.Open(path)
		}})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list logs in %s: %w", dir, err)
	}
	if len(logs) == 0 {
		return nil, fmt.Errorf("no log files in %s", dir)
	}
	sort.Slice(logs, func(i, j int) bool { return logs[i].Name < logs[j].Name })
	return logs, nil
}

// ClusterOptions select the pods and the part of their logs to read.
type ClusterOptions struct {
	Namespace string
	// Versions are the values of the version label to select.
	Versions []string
	// Container is the container whose log holds the payload events.
	// Default: per pod, modelapi.AgentContainerName where the pod runs
	// model-agent (it logs for the model), else modelapi.ContainerName.
	Container string
	// Since, when set, asks only for log lines written since then.
	Since time.Time
}

// Pod is a pod whose logs are read.
type Pod struct {
	Name     string `json:"name"`
	Version  string `json:"version"`
	Restarts int32  `json:"restarts"`
	Phase    string `json:"phase"`
}

// FromCluster lists the pods of the versions and returns a log for the
// model container of each, and one for the previous instance of each
// container that restarted (Kubernetes keeps only the last one). Pods
// already deleted took their logs with them; they cannot be read.
func FromCluster(ctx context.Context, client kubernetes.Interface, o ClusterOptions) ([]Log, []Pod, error) {
	req, err := labels.NewRequirement(modelapi.PodVersionLabel, selection.In, o.Versions)
	if err != nil {
		return nil, nil, fmt.Errorf("pod selector: %w", err)
	}
	selector := labels.NewSelector().Add(*req).String()
	list, err := client.CoreV1().Pods(o.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, nil, fmt.Errorf("list pods %s in namespace %s: %w", selector, o.Namespace, err)
	}
	if len(list.Items) == 0 {
		return nil, nil, fmt.Errorf("no pods %s in namespace %s", selector, o.Namespace)
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	var logs []Log
	var pods []Pod
	for _, p := range list.Items {
		po := o
		po.Container = payloadContainer(p, o.Container)
		if !hasContainer(p, po.Container) {
			continue
		}
		restarts := restartCount(p, po.Container)
		pods = append(pods, Pod{Name: p.Name, Version: p.Labels[modelapi.PodVersionLabel], Restarts: restarts, Phase: string(p.Status.Phase)})
		if restarts > 0 {
			logs = append(logs, podLog(client, po, p.Name, true))
		}
		if started(p, po.Container) {
			logs = append(logs, podLog(client, po, p.Name, false))
		}
	}
	if len(logs) == 0 {
		want := o.Container
		if want == "" {
			want = modelapi.AgentContainerName + `" or "` + modelapi.ContainerName
		}
		return nil, pods, fmt.Errorf("no pod %s in namespace %s has a started %q container", selector, o.Namespace, want)
	}
	return logs, pods, nil
}

func podLog(client kubernetes.Interface, o ClusterOptions, pod string, previous bool) Log {
	name := pod + "/" + o.Container
	if previous {
		name += " (previous)"
	}
	return Log{Name: name, Size: -1, open: func(ctx context.Context) (io.ReadCloser, error) {
		opts := &corev1.PodLogOptions{Container: o.Container, Previous: previous}
		if !o.Since.IsZero() {
			t := metav1.NewTime(o.Since)
			opts.SinceTime = &t
		}
		rc, err := client.CoreV1().Pods(o.Namespace).GetLogs(pod, opts).Stream(ctx)
		if err != nil {
			return nil, fmt.Errorf("logs of %s: %w", name, err)
		}
		return rc, nil
	}}
}

// payloadContainer is the container of p whose log holds payload events:
// the one asked for, else the agent where p runs it, else the model.
func payloadContainer(p corev1.Pod, asked string) string {
	switch {
	case asked != "":
		return asked
	case hasContainer(p, modelapi.AgentContainerName):
		return modelapi.AgentContainerName
	}
	return modelapi.ContainerName
}

func hasContainer(p corev1.Pod, name string) bool {
	for _, c := range p.Spec.Containers {
		if c.Name == name {
			return true
		}
	}
	return false
}

func restartCount(p corev1.Pod, name string) int32 {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == name {
			return cs.RestartCount
		}
	}
	return 0
}

// started: the container has run, so it has a log (a pod still pulling
// its image has none).
func started(p corev1.Pod, name string) bool {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == name {
			return cs.State.Running != nil || cs.State.Terminated != nil
		}
	}
	return false
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// FileName is where a copy of the log goes in a directory of saved logs.
func (l Log) FileName() string {
	name := strings.TrimSuffix(l.Name, " (previous)")
	name = unsafeName.ReplaceAllString(name, "_")
	if strings.HasSuffix(l.Name, " (previous)") {
		name += ".previous"
	}
	return name + ".log"
}
