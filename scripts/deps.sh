#!/usr/bin/env bash
# deps.sh: install the Debian packages pocketflow needs, only those missing. Idempotent.
# Called by `make run` and `make test`; safe to run by hand. Exits non-zero if anything is
# still missing afterwards, and tells a non-root user the exact command to run.
set -eu
PKGS="build-essential pkg-config libopenblas-dev libhdf5-dev libyaml-dev libncurses-dev
      libdnnl-dev check zlib1g-dev dataset-fashion-mnist tmux"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps.sh: missing Debian packages:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO=sudo
    else
        echo "deps.sh: not root; run:  sudo apt-get update && sudo apt-get install -y$missing" >&2
        exit 1
    fi
else
    SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "deps.sh: installed:$missing" >&2
