#!/usr/bin/env bash
# What a change does to every stack, for a PR review without a cluster:
# renders each Pulumi.<stack>.yaml at BASE (with BASE's code) and in the
# working tree, and prints a unified diff of the Kubernetes objects per
# stack. Exits 1 if a stack's config is invalid in the working tree.
#
#   hack/review.sh [BASE]        BASE defaults to origin/main, else main
set -euo pipefail
HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$HACK_DIR/.." && pwd)"
cd "$REPO_DIR"

base="${1:-}"
if [[ -z "$base" ]]; then
  base=origin/main
  git rev-parse --verify -q "$base" >/dev/null || base=main
fi
git rev-parse --verify -q "$base^{commit}" >/dev/null || { echo "ERROR: unknown base $base" >&2; exit 2; }

work="$(mktemp -d)"
trap 'git worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add --detach -q "$work/base" "$base"

# render DIR STACK OUT: the stack's objects, or the validation error.
render() {
  (cd "$1" && go run ./cmd/render --stack "$2") >"$3" 2>&1
}

status=0
stacks_now=$(ls Pulumi.*.yaml | sed -n 's/^Pulumi\.\(.*\)\.yaml$/\1/p' | grep -v '^$' || true)
for stack in $stacks_now; do
  [[ "$stack" == "Pulumi" ]] && continue
  if ! render "$REPO_DIR" "$stack" "$work/$stack.new"; then
    echo "### stack $stack: INVALID"
    cat "$work/$stack.new"
    status=1
    continue
  fi
  if [[ -f "$work/base/Pulumi.$stack.yaml" ]] && render "$work/base" "$stack" "$work/$stack.old"; then
    :
  else
    : >"$work/$stack.old" # a new stack, or one invalid at BASE
  fi
  if diff -q "$work/$stack.old" "$work/$stack.new" >/dev/null; then
    echo "### stack $stack: no change"
  else
    echo "### stack $stack: changes against $base"
    diff -u --label "$stack@$base" --label "$stack@working-tree" "$work/$stack.old" "$work/$stack.new" || true
  fi
done
exit "$status"
