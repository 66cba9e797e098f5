#!/usr/bin/env bash
# The rollout workflow's gate job: judge STACK's candidate with the gate
# binary (built once: `go build -o ROLLOUT ./cmd/rollout`, never `go run`,
# which turns every failing exit into 1) and, on a verdict, write the step
# into Pulumi.STACK.yaml with the PR's title and body beside it.
#
#   hack/ci/rollout-gate.sh ROLLOUT     env: STACK, PROMETHEUS_URL (optional),
#                                       GH_TOKEN (read the open PRs), the Pulumi backend's
# Each exit code of `rollout check` has its own branch:
#   0 promote       write the next step           changed=true (or false at the top)
#   1 rollback      write the candidate at 0%     changed=true (or false at 0%)
#   3 inconclusive  (or the step not yet applied) a summary, no PR, a green run
#   anything else   the gate's message as an error, a red run with its code
# Outputs (GITHUB_OUTPUT): code, action (advance|rollback|none), changed.
# Files in the working directory: outputs.json, verdict.json, gate.log, and
# with changed=true pr-title.txt, pr-body.md and the edited stack file.
set -euo pipefail
rollout="${1:?usage: rollout-gate.sh ROLLOUT (the binary of go build ./cmd/rollout)}"
stack="${STACK:?STACK is not set}"
summary="${GITHUB_STEP_SUMMARY:-/dev/stderr}"
output="${GITHUB_OUTPUT:-/dev/null}"

say() { printf '%s\n' "$*" >>"$summary"; }
set_output() { printf '%s=%s\n' "$1" "$2" >>"$output"; }
finish() { set_output action "$1"; set_output changed "$2"; exit 0; }

open="$(gh pr list --state open --search "in:title \"rollout($stack)\"" --json number --jq length)"
if [[ "$open" != 0 ]]; then
  say "A rollout PR for $stack is open: review and merge (or close) it first; no check now."
  set_output code skipped
  finish none false
fi

"$rollout" status --stack "$stack" >>"$summary"
# Secrets stay hidden ("[secret]"): the gate needs none of them.
pulumi stack output --json --stack "$stack" >outputs.json

args=(check --stack "$stack" --outputs outputs.json --json)
if [[ -n "${PROMETHEUS_URL:-}" ]]; then
  args+=(--prometheus "$PROMETHEUS_URL")
fi
code=0
"$rollout" "${args[@]}" >verdict.json 2>gate.log || code=$?
set_output code "$code"
reason="$(jq -r '.result.reason // .reason // empty' verdict.json 2>/dev/null || true)"
case "$code" in
  0) action=advance; say "Gate: **promote**: $reason" ;;
  1) action=rollback; say "Gate: **rollback**: $reason" ;;
  3)
    say "Gate: **no verdict** (exit 3): $reason"
    say "No PR: nothing is decided until the gate can judge (more traffic or probes, or the step applied)."
    finish none false
    ;;
  *)
    message="$(tail -n 5 gate.log | tr '\n' ' ')"
    say "The gate could not judge (exit $code): $message"
    echo "::error title=rollout gate exit $code::$message" >&2
    exit "$code"
    ;;
esac

position="$("$rollout" status --stack "$stack" --json)"
next="$(jq -r .status.position.next <<<"$position")"
percent="$(jq -r .status.position.percent <<<"$position")"
if [[ "$action" == advance && "$next" == -1 ]] || [[ "$action" == rollback && "$percent" == 0 ]]; then
  say "Nothing to $action: the candidate is at $percent%."
  finish "$action" false
fi
"$rollout" "$action" --stack "$stack" --evidence verdict.json --title-file pr-title.txt --body-file pr-body.md >/dev/null
say "Step written: $(cat pr-title.txt)"
finish "$action" true
