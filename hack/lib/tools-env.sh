# shellcheck shell=bash
# The environment hack/make-rules/tools.sh writes. Source it; don't run it.

# load_tools_env : source $TOOLS_DIR/env.sh written by hack/make-rules/tools.sh.
load_tools_env() {
  local dir="${MODELROLLOUTS_TOOLS_DIR:-$HOME/.cache/modelrollouts/tools}"
  if [[ ! -r "$dir/env.sh" ]]; then
    echo "ERROR: $dir/env.sh not found; run make tools (hack/make-rules/tools.sh) first (outside the netns)" >&2
    return 1
  fi
  # A non-empty variable already in the environment wins over env.sh (same
  # rule as harness.LoadTools), so one tool can be swapped for a test.
  local k saved=()
  while IFS= read -r k; do
    [[ -n "${!k:-}" ]] && saved+=("$k=${!k}")
  done < <(sed -n 's/^export \([A-Z_]*\)=.*/\1/p' "$dir/env.sh")
  # shellcheck disable=SC1091
  source "$dir/env.sh"
  for k in "${saved[@]}"; do export "${k%%=*}=${k#*=}"; done
}
