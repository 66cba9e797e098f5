// Package stacks holds the typed configuration of one stack of the
// modelrollouts program, its defaults and its validation, and the typed
// stack outputs that smoke tests read back.
//
// Every top-level field of Config is one Pulumi config key in the
// "modelrollouts" namespace (modelrollouts:cluster, modelrollouts:canary, ...),
// so `pulumi config set --path canary.versions[1].percent 20` edits it in
// place. Validation reports every problem at once, each with the key path a
// user types.
package stacks
