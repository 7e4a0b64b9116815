#!/bin/sh
# Install the Debian packages the sandbox (`configure sandbox up`) needs on the machine.
# Idempotent. apt-cacher-ng is installed without starting the distribution's own daemon:
# the sandbox runs its own instance bound to 198.18.0.1:3142, and a distro daemon listening
# on 0.0.0.0:3142 would take that port.
set -eu

if [ "$(id -u)" -ne 0 ]; then
    echo "install-system-deps.sh: run as root" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# bind9-dnsutils: dig for the DNS tests; vagrant: `vagrant validate` of the Vagrantfile
PACKAGES="debootstrap apt-cacher-ng iproute2 openssh-client util-linux nftables python3 bind9-dnsutils vagrant"

# Refuse service starts during this install only, unless a policy is already in place.
POLICY=/usr/sbin/policy-rc.d
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$POLICY"
    chmod 755 "$POLICY"
    trap 'rm -f "$POLICY"' EXIT
fi

apt-get update -q
apt-get install -y -q --no-install-recommends $PACKAGES

# Keep the distribution's apt-cacher-ng service from starting at boot on systemd machines.
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    systemctl disable --now apt-cacher-ng.service >/dev/null 2>&1 || true
elif command -v update-rc.d >/dev/null && [ -e /etc/init.d/apt-cacher-ng ]; then
    update-rc.d apt-cacher-ng disable >/dev/null 2>&1 || true
fi
