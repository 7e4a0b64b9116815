#!/usr/bin/env bash
# Install configurator for development on Debian 12 or 13, as root, with the system Python:
# the Debian packages the sandbox and the tests need, a virtualenv in a fixed place with this
# checkout installed in it editable (with the dev extra, so the tests see the working tree), and
# `configure` and `invoke` linked into /usr/local/bin. Idempotent: run it again after a pull.
# Any failing step stops it with a message that names the step. See docs/install.md.
#
#   bash scripts/install.sh [--venv DIR] [--wheels DIR] [--fetch-wheels DIR]
#
#   --venv DIR          the virtualenv (default /opt/configurator/venv, or $CONFIGURATOR_VENV)
#   --wheels DIR        offline: take every Python package from the wheels in DIR, never from an
#                       index (or $CONFIGURATOR_WHEELS); fill DIR with --fetch-wheels
#   --fetch-wheels DIR  after installing, download into DIR the wheels that --wheels needs, for
#                       machines of the same Debian release and architecture
#
# $CONFIGURATOR_BIN sets where the two commands are linked (default /usr/local/bin).
set -Eeuo pipefail

VENV=${CONFIGURATOR_VENV:-/opt/configurator/venv}
WHEELS=${CONFIGURATOR_WHEELS:-}
BIN=${CONFIGURATOR_BIN:-/usr/local/bin}
FETCH=""
STEP="reading the arguments"

usage() {
    sed -n '7,15s/^# \{0,1\}//p' "$0" >&2
    exit "${1:-64}"
}

step() {
    STEP="$*"
    echo "install.sh: $STEP" >&2
}

failed() {
    echo "install.sh: FAILED (exit $1) while $STEP; the install did not complete" >&2
    exit "$1"
}
trap 'failed $?' ERR

while [ $# -gt 0 ]; do
    case "$1" in
        --venv) VENV=${2:?--venv needs a directory}; shift 2 ;;
        --wheels) WHEELS=${2:?--wheels needs a directory}; shift 2 ;;
        --fetch-wheels) FETCH=${2:?--fetch-wheels needs a directory}; shift 2 ;;
        -h|--help) usage 0 ;;
        *) echo "install.sh: unknown argument $1" >&2; usage ;;
    esac
done

cd "$(dirname "$0")/.."
SOURCE=$(pwd)
[ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root" >&2; exit 1; }
[ -r /etc/debian_version ] || { echo "install.sh: needs Debian (12 or 13)" >&2; exit 1; }
if [ -n "$WHEELS" ]; then
    WHEELS=$(cd "$WHEELS" && pwd) || { echo "install.sh: no wheel directory $WHEELS" >&2; exit 1; }
fi

step "installing the Debian packages (scripts/install-system-deps.sh)"
bash scripts/install-system-deps.sh

# The system interpreter, whatever comes first on PATH (pyenv, conda, ...): Debian's python3-venv
# goes with it, and the virtualenv keeps working for every user of the machine.
PYTHON=/usr/bin/python3
step "checking the system Python ($PYTHON)"
"$PYTHON" -c 'import sys; assert sys.version_info >= (3, 11), sys.version'

step "creating the virtualenv $VENV"
if ! "$VENV/bin/python" -c 'import pip' 2>/dev/null; then
    rm -rf "$VENV"  # a broken one (e.g. its Python was upgraded away) is made anew
    mkdir -p "$(dirname "$VENV")"
    "$PYTHON" -m venv "$VENV"
fi

PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
OFFLINE=()
[ -z "$WHEELS" ] || OFFLINE=(--no-index --find-links "$WHEELS")
step "installing $SOURCE editable with its dev extra into $VENV${WHEELS:+ (offline, wheels from $WHEELS)}"
"${PIP[@]}" install --quiet "${OFFLINE[@]}" -e "$SOURCE[dev]"

step "linking configure and invoke into $BIN"
mkdir -p "$BIN"
for tool in configure invoke; do
    link="$BIN/$tool"
    if [ -e "$link" ] && [ ! -L "$link" ]; then  # never replace a file someone else put there
        echo "install.sh: $link exists and is not a link; move it away" >&2
        false
    fi
    ln -sfn "$VENV/bin/$tool" "$link"
done

step "checking the installed commands"
"$BIN/configure" --version
"$BIN/invoke" --version >/dev/null
"$VENV/bin/python" -c 'from configurator.model import roles; assert (roles.BUILTIN / "base" / "role.yml").is_file(), roles.BUILTIN'

if [ -n "$FETCH" ]; then
    step "downloading the wheels of every installed package into $FETCH"
    mkdir -p "$FETCH"
    "${PIP[@]}" freeze --all --exclude-editable > "$FETCH/requirements.txt"
    "${PIP[@]}" download --quiet "${OFFLINE[@]}" --only-binary=:all: -d "$FETCH" -r "$FETCH/requirements.txt"
fi

echo "install.sh: installed configurator into $VENV; configure and invoke are in $BIN" >&2
found=$(command -v configure || true)
if [ "$found" != "$BIN/configure" ]; then
    echo "install.sh: note: 'configure' on this PATH is ${found:-missing}, not $BIN/configure;" \
         "put $BIN first on PATH or call $VENV/bin/configure" >&2
fi
