package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/incluster"
	"github.com/modelrollouts/modelrollouts/internal/kubeclient"
	"github.com/modelrollouts/modelrollouts/stacks"
)

// inClusterFlags are the flags of a run from inside the cluster.
type inClusterFlags struct {
	enabled     bool
	namespace   string
	kubeContext string
	keepJob     bool
}

// runnerOnly are the flags that steer the run from outside and mean
// nothing to the smoke inside the Job.
var runnerOnly = map[string]bool{
	"stack": true, "outputs": true, "cwd": true, "outputs-env": true, "progress": true, "timeout": true,
	"from-cluster": true, "job-namespace": true, "context": true, "keep-job": true,
	// The Job gets the body's content, not the caller's file name.
	"body": true, "body-env": true,
}

func (f *inClusterFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.enabled, "from-cluster", false, "run the checks from a pod in the cluster (a Job of the stack's smoke client image), as a caller inside the mesh")
	fs.StringVar(&f.namespace, "job-namespace", "", "namespace of the --from-cluster Job (default: the model's; any namespace works, the Job asks for its own sidecar)")
	fs.StringVar(&f.kubeContext, "context", "", "kubeconfig context for --from-cluster (default: the stack's kubeconfig output, else the current context)")
	fs.BoolVar(&f.keepJob, "keep-job", false, "leave the --from-cluster Job and its pod for inspection (they expire after an hour)")
}

// passThrough returns the flags the user set that the smoke in the Job
// should see, as arguments.
func passThrough(fs *flag.FlagSet) []string {
	var args []string
	fs.Visit(func(f *flag.Flag) {
		if !runnerOnly[f.Name] {
			name := f.Name
			if f.Name == "wait-timeout" {
				name = "wake-timeout" // the deprecated alias, by its name
			}
			args = append(args, "--"+name+"="+f.Value.String())
		}
	})
	return args
}

// run creates the Job, waits, and prints what came back: the report on
// stdout, smoke's exit code as ours.
func (f *inClusterFlags) run(ctx context.Context, o *stacks.Outputs, args []string, body []byte, timeout time.Duration, stdout, stderr io.Writer) int {
	// Say what is missing from the stack before reaching for the cluster.
	if _, err := o.InClusterView(); err != nil {
		fmt.Fprintln(stderr, "smoke:", err)
		return exitError
	}
	// The stack's kubeconfig (fetched on purpose), else the ambient one.
	cs, err := kubeclient.New(kubeclient.Source{Kubeconfig: o.Kubeconfig, Context: f.kubeContext})
	if err != nil {
		fmt.Fprintln(stderr, "smoke:", err)
		return exitError
	}
	r := &incluster.Runner{Client: cs, Keep: f.keepJob}
	// The Job's own deadline is the run's; this one also covers the start.
	ctx, cancel := context.WithTimeout(ctx, timeout+3*time.Minute)
	defer cancel()
	res, err := r.Run(ctx, o, incluster.Options{Namespace: f.namespace, Args: args, Body: body, Timeout: timeout})
	if res != nil {
		fmt.Fprintf(stderr, "smoke: ran in the cluster as Job %s/%s (pod %s)\n", res.Namespace, res.Job, res.Pod)
	}
	if err != nil {
		fmt.Fprintln(stderr, "smoke:", err)
		return exitError
	}
	if res.ExitCode == 2 {
		// No report: the log says why.
		fmt.Fprintf(stderr, "smoke (in the cluster): %s", res.Log)
		return exitError
	}
	if _, err := stdout.Write(res.Log); err != nil {
		fmt.Fprintln(stderr, "smoke:", err)
		return exitError
	}
	return int(res.ExitCode)
}
