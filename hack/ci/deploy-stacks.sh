#!/usr/bin/env bash
# The deploy workflow's plan: which stacks a push to main changed, among
# those this repository deploys (DEPLOY_STACKS, a repository variable:
# space- or comma-separated stack names). A changed Pulumi.<stack>.yaml
# deploys that stack; a change to the program (Pulumi.yaml, go.mod,
# go.sum, components/, infra/, stacks/, model-echo/, cmd/modelrollouts/)
# deploys every listed stack.
#
#   hack/ci/deploy-stacks.sh BEFORE AFTER     prints and outputs stacks=["a","b"]
# BEFORE may be all zeros (a new branch) or empty (by hand): then every
# listed stack is deployed.
set -euo pipefail
before="${1-}"
after="${2:?usage: deploy-stacks.sh BEFORE AFTER}"
output="${GITHUB_OUTPUT:-/dev/null}"
read -r -a listed <<<"${DEPLOY_STACKS//,/ }"

program_changed=false
changed=()
if [[ -z "$before" || "$before" =~ ^0+$ ]]; then
  program_changed=true
else
  while IFS= read -r path; do
    case "$path" in
      Pulumi.yaml | go.mod | go.sum | components/* | infra/* | stacks/* | model-echo/* | cmd/modelrollouts/*) program_changed=true ;;
      Pulumi.*.yaml) name="${path#Pulumi.}"; changed+=("${name%.yaml}") ;;
    esac
  done < <(git diff --name-only "$before" "$after")
fi

picked=()
for stack in "${listed[@]}"; do
  if [[ ! -f "Pulumi.$stack.yaml" ]]; then
    echo "::warning::DEPLOY_STACKS names $stack, which has no Pulumi.$stack.yaml: skipped" >&2
    continue
  fi
  if $program_changed || [[ " ${changed[*]} " == *" $stack "* ]]; then
    picked+=("$stack")
  fi
done
json="$(printf '%s\n' "${picked[@]}" | jq -R . | jq -cs 'map(select(. != ""))')"
echo "stacks=$json" >>"$output"
echo "$json"
