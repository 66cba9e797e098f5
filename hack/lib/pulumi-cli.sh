# shellcheck shell=bash
# The pinned Pulumi CLI (PULUMI_CLI_VERSION in versions.sh): whether the
# one on PATH is it, and an install of the official release that is
# verified against the release's sha256 checksums before anything is
# unpacked. It goes to its own folder per version, so a CLI the machine
# already has (another version in ~/.pulumi/bin or /usr/local/bin) is left
# alone and comes second on PATH. Source it after versions.sh; don't run it.
#
#   pulumi_cli_dir           the folder the pinned CLI is installed in
#   pulumi_cli_is_pinned     true when `pulumi` on PATH is the pinned version
#   install_pulumi_cli       download, verify, unpack (no-op when installed)

# Where the release assets come from; pulumi publishes the archive and
# pulumi-<version>-checksums.txt with every release.
PULUMI_RELEASES_URL="${PULUMI_RELEASES_URL:-https://github.com/pulumi/pulumi/releases/download}"

pulumi_cli_dir() {
  echo "${MODELROLLOUTS_PULUMI_DIR:-$HOME/.cache/modelrollouts/pulumi}/$PULUMI_CLI_VERSION/bin"
}

pulumi_cli_is_pinned() {
  [[ "$(pulumi version 2>/dev/null)" == "v$PULUMI_CLI_VERSION" ]]
}

# pulumi_platform : the release's name for this OS and CPU (linux-x64 ...).
pulumi_platform() {
  local os arch
  case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) echo "ERROR: no Pulumi CLI release for $(uname -s)" >&2; return 1 ;;
  esac
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "ERROR: no Pulumi CLI release for $(uname -m)" >&2; return 1 ;;
  esac
  echo "$os-$arch"
}

sha256_of() {
  if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

install_pulumi_cli() {
  local dir; dir="$(pulumi_cli_dir)"
  if [[ "$("$dir/pulumi" version 2>/dev/null)" == "v$PULUMI_CLI_VERSION" ]]; then
    return 0
  fi
  local platform; platform="$(pulumi_platform)" || return 1
  local archive="pulumi-v$PULUMI_CLI_VERSION-$platform.tar.gz"
  local sums="pulumi-$PULUMI_CLI_VERSION-checksums.txt"
  local base="$PULUMI_RELEASES_URL/v$PULUMI_CLI_VERSION"
  local tmp; tmp="$(mktemp -d)"
  echo "installing the Pulumi CLI $PULUMI_CLI_VERSION ($archive, checked against $sums) into $dir" >&2
  if ! curl -fsSL --proto '=https' --retry 3 -o "$tmp/$sums" "$base/$sums" ||
    ! curl -fsSL --proto '=https' --retry 3 -o "$tmp/$archive" "$base/$archive"; then
    rm -rf "$tmp"
    echo "ERROR: could not download the Pulumi CLI $PULUMI_CLI_VERSION from $base" >&2
    return 1
  fi
  # PULUMI_CLI_SHA256 pins the archive's checksum outright (a value kept
  # apart from the release); otherwise the release's checksums file says.
  local want="${PULUMI_CLI_SHA256:-}"
  [[ -n "$want" ]] || want="$(awk -v f="$archive" '$2 == f || $2 == "*" f { print $1; exit }' "$tmp/$sums")"
  if [[ ! "$want" =~ ^[0-9a-f]{64}$ ]]; then
    rm -rf "$tmp"
    echo "ERROR: $sums has no sha256 for $archive: nothing installed" >&2
    return 1
  fi
  local got; got="$(sha256_of "$tmp/$archive")"
  if [[ "$got" != "$want" ]]; then
    rm -rf "$tmp"
    echo "ERROR: $archive has sha256 $got, the release says $want: nothing installed" >&2
    return 1
  fi
  mkdir -p "$tmp/unpacked" "$(dirname "$dir")"
  tar -xzf "$tmp/$archive" -C "$tmp/unpacked"
  rm -rf "$dir"
  mv "$tmp/unpacked/pulumi" "$dir"
  rm -rf "$tmp"
  if [[ "$("$dir/pulumi" version 2>/dev/null)" != "v$PULUMI_CLI_VERSION" ]]; then
    echo "ERROR: the installed $dir/pulumi does not say v$PULUMI_CLI_VERSION" >&2
    return 1
  fi
}
