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
# Cache: the compiled tools (keyed by a hash of the Go sources, go.mod,
# go.sum and the Go version) and the base's renders (keyed by the base
# commit and each stack file's hash) are kept in
# ${MODELROLLOUTS_REVIEW_CACHE:-${XDG_CACHE_HOME:-~/.cache}/modelrollouts/review},
# so a second review against the same base only renders the working tree.
# Nothing there is trusted for the working tree's renders, which always run.
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

base_commit="$(git rev-parse "$base^{commit}")"
cache="${MODELROLLOUTS_REVIEW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/modelrollouts/review}"
mkdir -p "$cache/bin" "$cache/renders"

work="$(mktemp -d)"
trap 'git worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add --detach -q "$work/base" "$base_commit"
mkdir -p "$work/renders" "$work/previews"

# code_key DIR : a hash of what the tools are compiled from in DIR (every
# non-test Go file, go.mod, go.sum) and of the Go version: equal keys, equal
# binaries. Untracked files count, as go build sees them.
code_key() {
  (
    cd "$1"
    git ls-files -co --exclude-standard -- '*.go' ':!:*_test.go' go.mod go.sum |
      while IFS= read -r f; do [[ -f "$f" ]] && printf '%s\n' "$f"; done | sort -u >"$work/files"
    { go env GOVERSION GOOS GOARCH; paste -d' ' "$work/files" <(git hash-object --stdin-paths <"$work/files"); } | sha256sum | cut -c1-32
  )
}

# tools SIDE DIR PROGRAM... : the commands compiled from DIR's code, in
# $work/bin-SIDE; from the cache where DIR's code was compiled before.
tools() {
  local side="$1" src="$2" key dir p missing=()
  shift 2
  key="$(code_key "$src")" dir="$cache/bin/$key"
  mkdir -p "$dir"
  touch "$dir"
  for p in "$@"; do [[ -x "$dir/$p" ]] || missing+=("$p"); done
  if ((${#missing[@]} == 0)); then
    echo "review: reusing $* compiled from the $side's code ($dir)" >&2
  else
    echo "review: compiling ${missing[*]} from the $side's code (the first build compiles the Pulumi SDKs: minutes)" >&2
    for p in "${missing[@]}"; do
      # Built aside and renamed: a concurrent review never runs half a file.
      (cd "$src" && go build -o "$dir/.$p.$$" "./cmd/$p") 2>>"$work/$side-build.err" || { rm -f "$dir/.$p.$$"; return 1; }
      mv -f "$dir/.$p.$$" "$dir/$p"
    done
  fi
  ln -s "$dir" "$work/bin-$side"
}

tools base "$work/base" render || true
tools head "$REPO_DIR" render review || { cat "$work/head-build.err" >&2; exit 2; }
# Binaries are large: of the sets unused for an hour, keep the 4 newest.
find "$cache/bin" -mindepth 1 -maxdepth 1 -type d -mmin +60 -printf '%T@ %p\n' | sort -rn | tail -n +5 | cut -d' ' -f2- | xargs -r rm -rf

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
  if [[ ! -x "$work/bin-$1/render" ]]; then
    cat "$work/$1-build.err" >"$out.err"
  elif ! "$work/bin-$1/render" --stack "$3" --dir "$2" >"$out.yaml" 2>"$out.err"; then
    rm -f "$out.yaml"
  else
    rm -f "$out.err"
  fi
}

# render_base STACK : the base's render, taken from the cache when this base
# commit rendered this stack file before (the commit fixes code and file).
render_base() {
  local key dir out="$work/renders/$1.base"
  key="$(git hash-object "$work/base/Pulumi.$1.yaml")"
  dir="$cache/renders/$base_commit/$1-$key"
  if [[ -d "$dir" ]]; then
    cp "$dir"/* "$work/renders/" 2>/dev/null || true
    reused+=("$1")
    return
  fi
  render base "$work/base" "$1"
  [[ -x "$work/bin-base/render" ]] || return 0 # a failed build is not cached
  mkdir -p "$cache/renders/$base_commit"
  local tmp
  tmp="$(mktemp -d "$cache/renders/$base_commit/.new.XXXXXX")"
  cp "$out".* "$tmp/" 2>/dev/null || true
  mv -T "$tmp" "$dir" 2>/dev/null || rm -rf "$tmp"
}

reused=()
for stack in $( { stacks "$REPO_DIR"; stacks "$work/base"; } | sort -u); do
  [[ -f "$REPO_DIR/Pulumi.$stack.yaml" ]] && render head "$REPO_DIR" "$stack"
  [[ -f "$work/base/Pulumi.$stack.yaml" ]] && render_base "$stack"
  old="$work/renders/$stack.base.yaml" new="$work/renders/$stack.head.yaml"
  [[ -f "$old" ]] || old=/dev/null
  [[ -f "$new" ]] || new=/dev/null
  diff -u --label "$stack@$base" --label "$stack@working-tree" "$old" "$new" >"$work/renders/$stack.diff" || true
  if [[ "${MODELROLLOUTS_REVIEW_PREVIEW:-}" == 1 && -s "$work/renders/$stack.diff" && -f "$new" ]] &&
    grep -Eq '^[[:space:]]*type:[[:space:]]*existing' "Pulumi.$stack.yaml"; then
    pulumi preview --stack "$stack" --json >"$work/previews/$stack.json" 2>"$work/previews/$stack.err" || true
  fi
done

((${#reused[@]} == 0)) || echo "review: reusing the renders of ${reused[*]} at $base ($base_commit)" >&2
# Renders of bases not used for two weeks go.
find "$cache/renders" -mindepth 1 -maxdepth 1 -type d -mtime +14 -exec rm -rf {} + 2>/dev/null || true
[[ ! -d "$cache/renders/$base_commit" ]] || touch "$cache/renders/$base_commit"

"$work/bin-head/review" --format "$format" --base-label "$base" --base "$work/base" --head "$REPO_DIR" \
  --renders "$work/renders" --previews "$work/previews"
