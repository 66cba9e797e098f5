// Package node is the journey tier's kubelet stand-in: one Node in the API
// server whose pods it runs as real processes on this machine.
//
// For every pod the scheduler binds to its node it starts the binary that
// stands for the pod's image (the real model-echo for the model's image),
// with the container's env and args from the pod spec, on an address of
// its own in 127.0.0.0/8 (a pod's network namespace: the pod's IP), and
// reports what a kubelet reports: the pod's IP, Running, the readiness
// probe's verdict as the Ready condition, restarts with the last state. Its
// kubelet API on 127.0.0.1 serves the containers' logs, so `kubectl logs`
// and client-go's GetLogs (with Previous after a restart) go through the
// real kube-apiserver to it.
//
// It stands in for the container runtime and the kubelet only: what runs,
// with which env and port, is whatever the program and the controllers put
// in the API server, so a wrong env var or port shows up as a pod that
// never becomes Ready.
package node
