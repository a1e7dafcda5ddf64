#!/bin/bash
# Install the Debian packages in packages.list that are not installed yet.
# Safe to run twice: a host that has them all does nothing (no apt-get update).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mapfile -t want < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$here/packages.list")
missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "vmjob: need root to install: ${missing[*]}" >&2
	exit 1
fi
echo "vmjob: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
