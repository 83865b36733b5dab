#!/bin/sh
# Installs what kobert-emotion needs to build, on a fresh machine:
#   Linux (Debian/Ubuntu): OpenBLAS (libopenblas-dev) and oneDNN (libdnnl-dev), via apt-get, as root
#   or through sudo.
#   macOS: nothing (Accelerate ships with the system).
# Safe to run again; it changes nothing else.
set -eu

case "$(uname -s)" in
Darwin)
    echo "setup: macOS: nothing to install (Accelerate is part of the system)"
    exit 0
    ;;
Linux) ;;
*)
    echo "setup: unsupported system $(uname -s); install OpenBLAS and oneDNN by hand" >&2
    exit 1
    ;;
esac

packages="libopenblas-dev libdnnl-dev"

if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: no apt-get here; install the development files of OpenBLAS and oneDNN ($packages on Debian) with your package manager" >&2
    exit 1
fi

missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
    echo "setup: $packages already installed"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=""
elif command -v sudo >/dev/null 2>&1; then
    as_root="sudo"
else
    echo "setup: installing$missing needs root: run this script as root, or install sudo" >&2
    exit 1
fi

echo "setup: installing$missing (apt-get update first: a fresh machine has no package lists)"
DEBIAN_FRONTEND=noninteractive $as_root apt-get update -qq
DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq $missing >/dev/null
echo "setup: done"
