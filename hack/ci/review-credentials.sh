#!/usr/bin/env bash
# The review workflow's preview credentials: with REVIEW_KUBECONFIG and
# PULUMI_BACKEND_URL set, write the kubeconfig (0600 from the start) and
# check that it cannot change the cluster, since the PR's own program runs
# with it: a kubeconfig that may create, patch or delete is refused (give it
# the read-only Role of docs/github.md). Outputs preview=0|1 and kubeconfig.
#
#   hack/ci/review-credentials.sh     env: REVIEW_KUBECONFIG, PULUMI_BACKEND_URL
set -euo pipefail
output="${GITHUB_OUTPUT:-/dev/null}"
if [[ -z "${REVIEW_KUBECONFIG:-}" || -z "${PULUMI_BACKEND_URL:-}" ]]; then
  echo "preview=0" >>"$output"
  echo "no REVIEW_KUBECONFIG or PULUMI_BACKEND_URL: the review renders, it does not preview" >&2
  exit 0
fi
kubeconfig="${RUNNER_TEMP:-/tmp}/review-kubeconfig"
(umask 077 && printf '%s\n' "$REVIEW_KUBECONFIG" >"$kubeconfig")
writes=()
for check in "create deployments.apps" "patch services" "delete namespaces" "create secrets" "update virtualservices.networking.istio.io"; do
  read -r verb resource <<<"$check"
  if [[ "$(kubectl --kubeconfig "$kubeconfig" auth can-i "$verb" "$resource" --all-namespaces 2>/dev/null || true)" == yes ]]; then
    writes+=("$verb $resource")
  fi
done
if [[ ${#writes[@]} -gt 0 ]]; then
  rm -f "$kubeconfig"
  echo "::error title=preview kubeconfig can write::REVIEW_KUBECONFIG may ${writes[*]}: the PR's own code runs with it; bind it to the read-only Role in docs/github.md" >&2
  exit 1
fi
echo "preview=1" >>"$output"
echo "kubeconfig=$kubeconfig" >>"$output"
