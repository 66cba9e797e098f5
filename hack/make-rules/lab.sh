#!/usr/bin/env bash
# make up / down / preview / refresh / stack: check everything the action
# needs first (hack/lib/preflight.sh, one message for all that is missing),
# then install what is missing (kind from the Go module proxy, the Pulumi
# CLI at its pin from its release, checked by sha256: hack/lib/pulumi-cli.sh)
# and run Pulumi on a stack with a local file backend (hack/lib/pulumi-env.sh).
# A stack on an existing cluster is refused with the lab's public passphrase.
#
#   hack/make-rules/lab.sh up|preview|refresh|down|stack STACK [PULUMI ARGS...]
#
# `stack` only creates the stack in the local backend (no cluster), so that
# `pulumi config set --stack STACK ...` works on a fresh checkout.
set -euo pipefail
HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=hack/lib/pulumi-env.sh
source "$HACK_DIR/lib/pulumi-env.sh"
# shellcheck source=hack/lib/versions.sh
source "$HACK_DIR/lib/versions.sh"
# shellcheck source=hack/lib/pulumi-cli.sh
source "$HACK_DIR/lib/pulumi-cli.sh"
# shellcheck source=hack/lib/preflight.sh
source "$HACK_DIR/lib/preflight.sh"

action="${1:-up}"
stack="${2:-dev}"
shift $(( $# < 2 ? $# : 2 ))

die() { echo "ERROR: $*" >&2; exit 1; }

case "$action" in
  up | preview | refresh | down | stack) ;;
  *) die "unknown action $action (up, preview, refresh, down or stack)" ;;
esac
stack_file="$REPO_DIR/Pulumi.$stack.yaml"
if [[ ! -f "$stack_file" ]]; then
  known=("$REPO_DIR"/Pulumi.*.yaml); known=("${known[@]##*/Pulumi.}")
  die "no Pulumi.$stack.yaml: the stacks are ${known[*]%.yaml}"
fi

refuse_lab_passphrase "$stack_file" || exit 1

if [[ "$action" == stack ]]; then
  # Only the CLI is needed to create a stack in a file backend.
  if ! pulumi_cli_is_pinned; then
    need_pinned_cli
    [[ ${#PREFLIGHT_PROBLEMS[@]} -eq 0 ]] || { report_preflight "$action"; exit 1; }
  fi
else
  preflight "$action" "$stack_file" || exit 1
fi

on_kind=true
grep -Eq '^[[:space:]]*type:[[:space:]]*existing' "$stack_file" && on_kind=false
if $on_kind && [[ "$action" != preview && "$action" != stack ]] &&
  [[ "$(kind version 2>/dev/null | awk '{print $2}')" != "$KIND_VERSION" ]]; then
  echo "installing kind $KIND_VERSION (go install)" >&2
  go install "sigs.k8s.io/kind@$KIND_VERSION"
fi
if ! pulumi_cli_is_pinned; then
  install_pulumi_cli
  PATH="$(pulumi_cli_dir):$PATH"
fi

cd "$REPO_DIR"
pulumi stack select --create "$stack" --non-interactive >/dev/null
case "$action" in
  stack) echo "stack $stack is ready in $PULUMI_BACKEND_URL; now: source hack/lib/pulumi-env.sh && pulumi config set --stack $stack ..." >&2 ;;
  up) pulumi up --yes --stack "$stack" "$@" ;;
  preview) pulumi preview --diff --stack "$stack" "$@" ;;
  refresh) pulumi refresh --yes --stack "$stack" "$@" ;;
  down) pulumi destroy --yes --stack "$stack" "$@" ;;
esac
