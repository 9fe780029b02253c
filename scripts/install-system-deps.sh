#!/usr/bin/env bash
# Installs the Debian packages in scripts/system-packages.txt that are missing.
# Extra lists can be named as arguments (e.g. scripts/bench-packages.txt).
set -euo pipefail
cd "$(dirname "$0")/.."

lists=("scripts/system-packages.txt" "$@")
missing=()
for package in $(grep -hv '^#' "${lists[@]}" | tr -s ' \n' '\n'); do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "installing Debian packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  sudo=sudo
else
  sudo=
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
