#!/usr/bin/env bash
# The rollout workflow's PR job: commit the step the gate job wrote
# (Pulumi.STACK.yaml, pr-title.txt, pr-body.md in the working directory) on
# a new branch and open the PR against BASE.
#
#   hack/ci/rollout-pr.sh      env: STACK, BASE (the branch the rollout ran on),
#                              GH_TOKEN (a GitHub App installation token or a
#                              fine-grained token: see docs/github.md)
# A PR opened with the workflow's own GITHUB_TOKEN triggers no pull_request
# workflow (no ci, review or e2e check would ever report), so without a
# token of its own this job opens no PR: it writes the title, body and diff
# to the run summary and says why. When GitHub refuses the PR, the branch
# just pushed is deleted again and the run fails with GitHub's message.
set -euo pipefail
stack="${STACK:?STACK is not set}"
base="${BASE:?BASE is not set}"
summary="${GITHUB_STEP_SUMMARY:-/dev/stderr}"
file="Pulumi.$stack.yaml"
title="$(cat pr-title.txt)"

show_step() {
  {
    printf '### %s\n\n' "$title"
    cat pr-body.md
    printf '\n```diff\n'
    git diff -- "$file"
    printf '```\n'
  } >>"$summary"
}

if [[ -z "${GH_TOKEN:-}" ]]; then
  {
    echo "No PR opened: this repository has no token for rollout PRs. The workflow's own GITHUB_TOKEN"
    echo "would open a PR that triggers no ci, review or e2e run. Set the variable ROLLOUT_APP_CLIENT_ID and"
    echo "the secret ROLLOUT_APP_PRIVATE_KEY (a GitHub App), or the secret ROLLOUT_PR_TOKEN (docs/github.md)."
    echo "The PR it would have opened:"
    echo
  } >>"$summary"
  show_step
  echo "::warning title=no rollout PR::no ROLLOUT_APP_* or ROLLOUT_PR_TOKEN: the step is in the run summary" >&2
  exit 0
fi

branch="rollout/$stack/$(date -u +%Y%m%d-%H%M%S)"
gh auth setup-git
git switch -c "$branch"
git add -- "$file"
git -c user.name="rollout gate" -c user.email="rollout-gate@users.noreply.github.com" commit -q -m "$title"
git push origin "$branch"
if ! url="$(gh pr create --base "$base" --head "$branch" --title "$title" --body-file pr-body.md 2>gh.err)"; then
  message="$(tr '\n' ' ' <gh.err)"
  git push origin --delete "$branch" || echo "::warning::could not delete the branch $branch" >&2
  echo "::error title=rollout PR refused::gh pr create: $message (the branch $branch was deleted)" >&2
  { echo "GitHub refused the PR: $message"; echo; } >>"$summary"
  show_step
  exit 1
fi
echo "Opened $url" >>"$summary"
show_step
