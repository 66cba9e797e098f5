# shellcheck shell=bash
# Source it (make's lab targets do; so can you, before running the Pulumi
# CLI yourself): a local file backend in the project, no Pulumi account, and
# the lab's passphrase for stack secrets (the kind kubeconfig). Override
# PULUMI_BACKEND_URL / PULUMI_CONFIG_PASSPHRASE to use your own backend or
# secrets.
#
#   source hack/lib/pulumi-env.sh
REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$REPO_DIR/.pulumi-state}"
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-modelrollouts-lab}"
export PULUMI_SKIP_UPDATE_CHECK=true
GOBIN_DIR="$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin"
export PATH="$HOME/.pulumi/bin:$GOBIN_DIR:$PATH"
mkdir -p "$REPO_DIR/.pulumi-state"
