# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are read by the scripts that source this
# Every version hack/ pins, in one file. Source it; don't run it.
# CI keys its tool cache (~/.cache/modelrollouts/tools) on this file's hash,
# so a change here (and only here) rebuilds the tools.

# make up / make preview: kind and the official Pulumi CLI. KIND_VERSION is
# the kind whose node image stacks.DefaultKindNodeImage pins (it must equal
# stacks.KindVersion; a unit test checks it).
KIND_VERSION=v0.33.0
PULUMI_CLI_VERSION=3.274.1

# make tools: built from the Go module proxy for the integration tier and
# the linters (exact versions: the proxy refuses @latest for several).
PULUMI_VERSION=v3.274.1
PROVIDER_MODVER=v4.0.0-20260115033456-f47bc2d6f199 # newest provider/v4 served
KUBERNETES_VERSION=v1.37.2
ETCD_VERSION=v3.7.3
KWOK_VERSION=v0.8.0
ACTIONLINT_VERSION=v1.7.12

# Offline platform sources for the integration tier (hack/integration/platform-sources.sh).
ISTIO_MODVER=v0.0.0-20260827124520-eed52ebb66ad
KNATIVE_SERVING_VERSION=v0.51.0
