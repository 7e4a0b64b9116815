#!/bin/sh
# Install the Debian packages that configurator (a virtualenv from the system Python), the sandbox
# (`configure sandbox up`) and the tests need on a Debian 12 or 13 machine. Idempotent.
# apt-cacher-ng is installed without starting the distribution's own daemon: the sandbox runs its
# own instance bound to 198.18.0.1:3142, and a distro daemon listening on 0.0.0.0:3142 would take
# that port.
set -eu

if [ "$(id -u)" -ne 0 ]; then
    echo "install-system-deps.sh: run as root" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# python3-venv: the virtualenv scripts/install.sh makes (pip comes into it with the venv);
# bind9-dnsutils: dig for the DNS tests; iputils-ping: round trips to a delayed host (sandbox netem);
# iptables: sandbox netem on a kernel without the netem qdisc queues packets to its userspace delay with
# iptables' NFQUEUE target (nft's own `queue` statement needs CONFIG_NFT_QUEUE, which such kernels may lack)
PACKAGES="python3 python3-venv ca-certificates debootstrap apt-cacher-ng iproute2 openssh-client util-linux
nftables bind9-dnsutils iputils-ping iptables"
# Only for `vagrant validate` of the Vagrantfile (a test that skips without it); not in every release.
OPTIONAL="vagrant"

# Refuse service starts during this install only, unless a policy is already in place.
POLICY=/usr/sbin/policy-rc.d
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$POLICY"
    chmod 755 "$POLICY"
    trap 'rm -f "$POLICY"' EXIT
fi

apt-get update -q
for package in $OPTIONAL; do
    if [ -n "$(apt-cache policy "$package" | sed -n 's/^ *Candidate: //p' | grep -v '(none)')" ]; then
        PACKAGES="$PACKAGES $package"
    else
        echo "install-system-deps.sh: $package is not available in this Debian release; skipping it" >&2
    fi
done
apt-get install -y -q --no-install-recommends $PACKAGES

# Keep the distribution's apt-cacher-ng service from starting at boot on systemd machines.
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    systemctl disable --now apt-cacher-ng.service >/dev/null 2>&1 || true
elif command -v update-rc.d >/dev/null && [ -e /etc/init.d/apt-cacher-ng ]; then
    update-rc.d apt-cacher-ng disable >/dev/null 2>&1 || true
fi
