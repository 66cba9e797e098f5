#!/usr/bin/env bash
# make lint: shellcheck on every script of hack/ (and .ci/run), actionlint on
# every workflow in .github/workflows (actionlint also shellchecks their
# `run:` scripts). Each linter missing is an error that says how to get it.
#
#   hack/make-rules/verify/lint.sh
set -euo pipefail
HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=hack/lib/versions.sh
source "$HACK_DIR/lib/versions.sh"
# shellcheck source=hack/lib/tools-env.sh
source "$HACK_DIR/lib/tools-env.sh"
cd "$HACK_DIR/.."

missing=()
shellcheck_bin="${SHELLCHECK:-$(command -v shellcheck || true)}"
[[ -x "$shellcheck_bin" ]] || missing+=("shellcheck: not on PATH; install the Debian package: apt-get install shellcheck (make tools does it when run as root)")
load_tools_env 2>/dev/null || true
actionlint_bin="${ACTIONLINT:-$(command -v actionlint || true)}"
[[ -x "$actionlint_bin" ]] || missing+=("actionlint: not built; run make tools (builds github.com/rhysd/actionlint@$ACTIONLINT_VERSION into ${MODELROLLOUTS_TOOLS_DIR:-~/.cache/modelrollouts/tools}/actionlint/)")
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "ERROR: make lint needs:" >&2
  printf '  - %s\n' "${missing[@]}" >&2
  exit 1
fi

# Every shell script: *.sh, and anything with a sh/bash shebang.
scripts=()
while IFS= read -r f; do
  if [[ "$f" == *.sh ]] || head -n 1 "$f" | grep -Eq '^#!.*\b(ba)?sh\b'; then scripts+=("$f"); fi
done < <(git ls-files --cached --others --exclude-standard hack .ci)
status=0
echo "lint: shellcheck $("$shellcheck_bin" --version | sed -n 's/^version: //p') on ${#scripts[@]} scripts" >&2
"$shellcheck_bin" -x "${scripts[@]}" || status=1

workflows=()
while IFS= read -r f; do workflows+=("$f"); done < <(git ls-files --cached --others --exclude-standard '.github/workflows/*.yml' '.github/workflows/*.yaml')
if [[ ${#workflows[@]} -eq 0 ]]; then
  echo "ERROR: no workflows in .github/workflows to lint" >&2
  exit 1
fi
echo "lint: actionlint $("$actionlint_bin" -version | head -n 1) on ${#workflows[@]} workflows" >&2
"$actionlint_bin" -shellcheck "$shellcheck_bin" "${workflows[@]}" || status=1
[[ $status -eq 0 ]] && echo "lint: OK" >&2
exit "$status"
