#!/usr/bin/env bash
# The deploy workflow's apply step for one stack: make up (which refuses an
# existing cluster on the lab's passphrase and installs the pinned Pulumi
# CLI), the stack's outputs (secrets hidden) into the run summary, then
# make smoke. The backend must be named: without it make up would start a
# new, empty local state and try to create everything again.
#
#   hack/ci/deploy.sh STACK     env: PULUMI_BACKEND_URL, PULUMI_CONFIG_PASSPHRASE or
#                               PULUMI_ACCESS_TOKEN, DEPLOY_KUBECONFIG (optional)
set -euo pipefail
stack="${1:?usage: deploy.sh STACK}"
summary="${GITHUB_STEP_SUMMARY:-/dev/stderr}"
make="${MAKE:-make}"
if [[ -z "${PULUMI_BACKEND_URL:-}" ]]; then
  echo "::error::PULUMI_BACKEND_URL is not set: the deploy environment needs the backend that holds the stack's state" >&2
  exit 2
fi
if [[ -n "${DEPLOY_KUBECONFIG:-}" ]]; then
  # 0600 from the start: no moment where another user could read it.
  (umask 077 && printf '%s\n' "$DEPLOY_KUBECONFIG" >"${RUNNER_TEMP:-/tmp}/deploy-kubeconfig")
  export KUBECONFIG="${RUNNER_TEMP:-/tmp}/deploy-kubeconfig"
fi
"$make" up STACK="$stack" ARGS=--non-interactive
{
  echo "### $stack: applied"
  echo '```'
  pulumi stack output --stack "$stack"
  echo '```'
} >>"$summary"
"$make" smoke STACK="$stack"
echo "$stack: make smoke passed" >>"$summary"
