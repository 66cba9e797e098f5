#!/usr/bin/env bash
# make review: what a change does to every stack, for a PR review without a
# cluster. Renders each Pulumi.<stack>.yaml at BASE (with BASE's code) and in
# the working tree (with its code), then cmd/review prints, per stack, the
# before/after table of the versions, the smoke plan, the pulumi preview
# summary (only where credentials exist, see below) and the object diff.
# Exits 1 if a stack's config is invalid in the working tree.
#
#   hack/make-rules/review.sh [--format text|markdown] [BASE]
#
# BASE defaults to origin/main, else main. --format markdown prints the
# PR comment .github/workflows/review.yml posts.
# Previews: when MODELROLLOUTS_REVIEW_PREVIEW=1, each changed stack on an
# existing cluster is previewed with the Pulumi CLI and the ambient
# credentials (PULUMI_BACKEND_URL, PULUMI_CONFIG_PASSPHRASE, KUBECONFIG).
set -euo pipefail
HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_DIR="$(cd "$HACK_DIR/.." && pwd)"
cd "$REPO_DIR"

format=text
if [[ "${1:-}" == --format ]]; then format="${2:?--format needs text or markdown}"; shift 2; fi
case "$format" in text | markdown) ;; *) echo "ERROR: --format $format: want text or markdown" >&2; exit 2 ;; esac
base="${1:-}"
if [[ -z "$base" ]]; then
  base=origin/main
  git rev-parse --verify -q "$base" >/dev/null || base=main
fi
git rev-parse --verify -q "$base^{commit}" >/dev/null || { echo "ERROR: unknown base $base (a branch, tag or commit)" >&2; exit 2; }

work="$(mktemp -d)"
trap 'git worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add --detach -q "$work/base" "$base"
mkdir -p "$work/renders" "$work/previews"

echo "review: compiling cmd/render at $base and in the working tree (the first build compiles the Pulumi SDKs: minutes)" >&2
(cd "$work/base" && go build -o "$work/render-base" ./cmd/render) 2>"$work/base-build.err" || true
go build -o "$work/render-head" ./cmd/render

# stacks DIR : the stack names of DIR's Pulumi.<stack>.yaml files.
stacks() {
  local f
  for f in "$1"/Pulumi.*.yaml; do
    [[ -e "$f" ]] || continue
    f="${f##*/Pulumi.}"; echo "${f%.yaml}"
  done
}

# render SIDE DIR STACK : the stack's objects into SIDE.yaml, or why not into SIDE.err.
render() {
  local out="$work/renders/$3.$1"
  if [[ ! -x "$work/render-$1" ]]; then
    cat "$work/base-build.err" >"$out.err"
  elif ! "$work/render-$1" --stack "$3" --dir "$2" >"$out.yaml" 2>"$out.err"; then
    rm -f "$out.yaml"
  else
    rm -f "$out.err"
  fi
}

for stack in $( { stacks "$REPO_DIR"; stacks "$work/base"; } | sort -u); do
  [[ -f "$REPO_DIR/Pulumi.$stack.yaml" ]] && render head "$REPO_DIR" "$stack"
  [[ -f "$work/base/Pulumi.$stack.yaml" ]] && render base "$work/base" "$stack"
  old="$work/renders/$stack.base.yaml" new="$work/renders/$stack.head.yaml"
  [[ -f "$old" ]] || old=/dev/null
  [[ -f "$new" ]] || new=/dev/null
  diff -u --label "$stack@$base" --label "$stack@working-tree" "$old" "$new" >"$work/renders/$stack.diff" || true
  if [[ "${MODELROLLOUTS_REVIEW_PREVIEW:-}" == 1 && -s "$work/renders/$stack.diff" && -f "$new" ]] &&
    grep -Eq '^[[:space:]]*type:[[:space:]]*existing' "Pulumi.$stack.yaml"; then
    pulumi preview --stack "$stack" --json >"$work/previews/$stack.json" 2>"$work/previews/$stack.err" || true
  fi
done

go run ./cmd/review --format "$format" --base-label "$base" --base "$work/base" --head "$REPO_DIR" \
  --renders "$work/renders" --previews "$work/previews"
