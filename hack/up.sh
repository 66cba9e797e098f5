#!/usr/bin/env bash
# make up / make down / make preview: install what is missing (kind from the
# Go module proxy, the Pulumi CLI from its official installer), then run
# Pulumi on a stack with a local file backend.
#
#   hack/up.sh up|preview|down|refresh [STACK]     STACK defaults to dev
set -euo pipefail
HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/pulumi-env.sh
source "$HACK_DIR/pulumi-env.sh"

KIND_VERSION=v0.33.0
PULUMI_VERSION=3.274.1
action="${1:-up}"
stack="${2:-dev}"

die() { echo "ERROR: $*" >&2; exit 1; }

[[ -f "$REPO_DIR/Pulumi.$stack.yaml" ]] || die "no Pulumi.$stack.yaml: stacks are $(cd "$REPO_DIR" && ls Pulumi.*.yaml | sed 's/Pulumi\.\(.*\)\.yaml/\1/' | tr '\n' ' ')"
command -v go >/dev/null || die "Go is required (https://go.dev/dl/)"

uses_kind() { grep -q 'type: existing' "$REPO_DIR/Pulumi.$stack.yaml" && return 1 || return 0; }

if uses_kind && [[ "$action" != "preview" ]]; then
  command -v docker >/dev/null || die "Docker is required for a kind stack (https://docs.docker.com/get-docker/)"
  docker info >/dev/null 2>&1 || die "Docker is installed but its engine is not running (docker info failed)"
fi
if ! command -v kind >/dev/null || [[ "$(kind version 2>/dev/null | awk '{print $2}')" != "$KIND_VERSION" ]]; then
  echo "installing kind $KIND_VERSION (go install)" >&2
  go install "sigs.k8s.io/kind@$KIND_VERSION"
fi
if ! command -v pulumi >/dev/null; then
  echo "installing the Pulumi CLI $PULUMI_VERSION (official installer)" >&2
  curl -fsSL https://get.pulumi.com | sh -s -- --version "$PULUMI_VERSION"
fi

cd "$REPO_DIR"
pulumi stack select --create "$stack" --non-interactive >/dev/null
case "$action" in
  up) pulumi up --yes --stack "$stack" ;;
  preview) pulumi preview --diff --stack "$stack" ;;
  refresh) pulumi refresh --yes --stack "$stack" ;;
  down) pulumi destroy --yes --stack "$stack" ;;
  *) die "unknown action $action (up, preview, refresh or down)" ;;
esac
