// Package infra is the modelrollouts Pulumi program: it loads and
// validates the stack config, then wires the components into a cluster,
// its platform, the model image and the configured rollout strategy, and
// exports what smoke tests need.
package infra
