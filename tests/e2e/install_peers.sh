#!/usr/bin/env bash
# Installs the Debian packages the end-to-end tests run against (tests/e2e/apt-packages.txt, one
# per line; '#' starts a comment). Idempotent: does nothing when they are all installed.
# Run as root (make e2e). The packages ship services (prometheus-alertmanager: :9093 and gossip
# :9094 on all interfaces; zabbix-server: :10051); the tests start their own instances on free
# ports, so this makes sure the packaged services are not left running.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LIST="${HERE}/apt-packages.txt"

say() { echo "install_peers: $*"; }

# Default TCP ports of the services the packages ship (reported if something still listens).
default_ports() {
    case "$1" in
        prometheus-alertmanager) echo "9093 9094" ;;
        zabbix-server-*) echo "10051" ;;
        *) echo "" ;;
    esac
}

mapfile -t packages < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$LIST" | grep -v '^$')
if [ "${#packages[@]}" -eq 0 ]; then
    say "no packages listed in ${LIST}"
    exit 0
fi

missing=()
for pkg in "${packages[@]}"; do
    if dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed'; then
        say "${pkg}: already installed ($(dpkg-query -W -f='${Version}' "$pkg"))"
    else
        missing+=("$pkg")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        say "missing packages: ${missing[*]}; run as root (or: sudo apt-get install --no-install-recommends ${missing[*]})" >&2
        exit 1
    fi
    say "missing: ${missing[*]}; running apt-get update"
    apt-get update -qq
    say "installing: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    for pkg in "${missing[@]}"; do
        say "${pkg}: installed ($(dpkg-query -W -f='${Version}' "$pkg"))"
    done
else
    say "nothing to install"
fi

# The packaged services: stop them (and keep them from starting at boot under systemd).
systemd_running=0
[ -d /run/systemd/system ] && systemd_running=1
for pkg in "${packages[@]}"; do
    mapfile -t units < <(dpkg -L "$pkg" 2>/dev/null | grep -E '^/(usr/)?lib/systemd/system/[^/]+\.service$' | xargs -r -n1 basename)
    mapfile -t scripts < <(dpkg -L "$pkg" 2>/dev/null | grep -E '^/etc/init\.d/[^/]+$' | xargs -r -n1 basename)
    if [ "$systemd_running" -eq 1 ]; then
        for unit in "${units[@]}"; do
            if systemctl is-active --quiet "$unit" || systemctl is-enabled --quiet "$unit" 2>/dev/null; then
                say "${pkg}: stopping and disabling ${unit}"
                systemctl disable --now "$unit" || say "${pkg}: could not stop ${unit}" >&2
            else
                say "${pkg}: ${unit} is neither running nor enabled"
            fi
        done
    else
        for script in "${scripts[@]}"; do
            if service "$script" status >/dev/null 2>&1; then
                say "${pkg}: service ${script} is running; stopping it"
                service "$script" stop || say "${pkg}: could not stop ${script}" >&2
            else
                say "${pkg}: service ${script} is not running (no systemd here; policy-rc.d: $(
                    if [ -x /usr/sbin/policy-rc.d ]; then echo "present, denies starts"; else echo "absent"; fi))"
            fi
        done
    fi
    for port in $(default_ports "$pkg"); do
        if ss -Hltn "sport = :${port}" 2>/dev/null | grep -q .; then
            say "WARNING: something listens on TCP port ${port} (${pkg}'s default): $(ss -Hltnp "sport = :${port}" | head -1)" >&2
        else
            say "${pkg}: nothing listens on its default port ${port}"
        fi
    done
done
