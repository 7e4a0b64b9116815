#!/usr/bin/env bash
# Install everything configurator and its tests need on a Debian 12 machine (run as root).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
python3 -m pip install --quiet --disable-pip-version-check -e '.[dev]'
