#!/usr/bin/env bash
# Posts FILE as PR's review comment, editing the previous one in place
# instead of adding a comment per push. The comment is found by FILE's
# first line, an HTML comment marker (internal/review.Marker).
#
#   hack/ci/sticky-comment.sh PR FILE      needs gh, GH_TOKEN, GITHUB_REPOSITORY
set -euo pipefail
pr="${1:?usage: sticky-comment.sh PR FILE}"
file="${2:?usage: sticky-comment.sh PR FILE}"
repo="${GITHUB_REPOSITORY:?GITHUB_REPOSITORY is not set}"

marker="$(head -n 1 "$file" 2>/dev/null || true)"
if [[ "$marker" != '<!--'*'-->' ]]; then
  # make review could not print its comment at all: say so in the same place.
  marker='<!-- modelrollouts-review -->'
  printf '%s\nThe stack review could not be made: see the review workflow log.\n' "$marker" >"$file"
fi

# GitHub refuses a comment body over 65,536 characters. Keep whole lines
# up to the cap (counted in bytes, never fewer than characters), close a
# code block the cut left open, and say what was cut and where it all is.
max="${COMMENT_MAX_BYTES:-60000}"
size="$(wc -c <"$file")"
if [[ "$size" -gt "$max" ]]; then
  kept="$(mktemp)"
  LC_ALL=C awk -v max="$max" '{ n += length($0) + 1; if (n > max) exit; print }' "$file" >"$kept"
  fences="$(grep -c '^[[:space:]]*```' "$kept" || true)"
  if [[ $((fences % 2)) -eq 1 ]]; then echo '```' >>"$kept"; fi
  printf '\n---\n**Cut here**: the review is %s bytes, over what a GitHub comment holds; the last %s bytes are not shown. The whole review is in the job summary of this run.\n' \
    "$size" "$((size - $(wc -c <"$kept")))" >>"$kept"
  mv "$kept" "$file"
fi

id="$(gh api --paginate "repos/$repo/issues/$pr/comments" \
  --jq ".[] | select(.user.type == \"Bot\" and (.body | startswith(\"$marker\"))) | .id" | head -n 1)"
if [[ -n "$id" ]]; then
  gh api -X PATCH "repos/$repo/issues/comments/$id" -F "body=@$file" >/dev/null
  echo "updated comment $id on PR $pr"
else
  gh api -X POST "repos/$repo/issues/$pr/comments" -F "body=@$file" >/dev/null
  echo "posted the review comment on PR $pr"
fi
