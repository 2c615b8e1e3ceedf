#!/usr/bin/env bash
# A LAN in a box for discovery tests: N hosts as network namespaces, each with one veth
# "cable" into a bridge that lives in its own namespace, so nothing here touches the
# machine's real interfaces or routes and no multicast ever leaves the testbed.
#
#   scripts/testbed.sh up N [PREFIX]      make hosts PREFIX-h1 … PREFIX-hN and PREFIX-br
#   scripts/testbed.sh down [PREFIX]      remove them (idempotent: fine to run twice)
#   scripts/testbed.sh exec HOST CMD…     run CMD in a host (h2 or PREFIX-h2); PREFIX from
#                                         $TESTBED_PREFIX when HOST is short
#   scripts/testbed.sh list [PREFIX]      the hosts of a testbed, one per line
#
# Host i (1-based) gets, on its interface eth0:
#   10.77.0.i/24 and fd77::i/64 (no duplicate address detection: usable at once),
#   a route for 224.0.0.0/4 (so multicast has somewhere to go; there is no default route),
#   loopback up, and promote_secondaries on. Note: deleting a host's last IPv4 address
#   removes its routes, the multicast route too; add the new address before deleting the old.
# Needs root and ip(8) from iproute2. PREFIX defaults to "cstb"; it names namespaces only.
set -euo pipefail

readonly DEFAULT_PREFIX=cstb
readonly MAX_HOSTS=200
readonly IPV4_NET=10.77.0
readonly IPV6_NET=fd77:

die() { printf 'testbed: %s\n' "$*" >&2; exit 1; }

usage() {
  sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

check_prefix() {
  [[ "$1" =~ ^[a-z][a-z0-9-]{0,30}$ ]] || die "prefix '$1' must be lowercase letters, digits and '-', starting with a letter (≤ 31 chars)"
}

need_tools() {
  command -v ip >/dev/null 2>&1 || die "needs ip(8): install iproute2 (apt-get install iproute2)"
  [[ "$(id -u)" -eq 0 ]] || die "needs root (network namespaces)"
}

# Namespaces of a testbed: exactly PREFIX-br and PREFIX-h<digits>, never a wider match.
namespaces_of() {
  local prefix=$1
  ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${prefix}-(br|h[0-9]+)\$" || true
}

in_ns() {
  local ns=$1
  shift
  ip netns exec "$ns" "$@"
}

cmd_up() {
  local count=${1:-}
  local prefix=${2:-$DEFAULT_PREFIX}
  [[ "$count" =~ ^[0-9]+$ ]] && ((count >= 1 && count <= MAX_HOSTS)) || die "up: N must be a number from 1 to $MAX_HOSTS"
  check_prefix "$prefix"
  need_tools
  [[ -z "$(namespaces_of "$prefix")" ]] || die "a testbed named '$prefix' exists already; run: $0 down $prefix"

  # On any failure half-way, leave nothing behind.
  trap 'cmd_down "$prefix" >/dev/null 2>&1 || true' ERR

  local bridge_ns="${prefix}-br"
  ip netns add "$bridge_ns"
  in_ns "$bridge_ns" ip link set lo up
  ip -n "$bridge_ns" link add br0 type bridge
  # No IGMP/MLD snooping: with no querier on this LAN a snooping bridge may drop multicast.
  ip -n "$bridge_ns" link set br0 type bridge mcast_snooping 0
  ip -n "$bridge_ns" link set br0 up

  local i host
  for ((i = 1; i <= count; i++)); do
    host="${prefix}-h${i}"
    ip netns add "$host"
    # IPv6 DAD would keep new addresses "tentative" (unusable) for a second or two. Promoting
    # secondaries lets a test move a host (add the new address, delete the old) without the
    # kernel dropping the new address, and the routes with it, along with the old primary.
    # (Written to /proc/sys directly: sysctl(8) would add procps to the requirements.)
    in_ns "$host" sh -c 'for f in ipv6/conf/all/accept_dad ipv6/conf/default/accept_dad; do echo 0 >"/proc/sys/net/$f"; done
      for f in ipv4/conf/all/promote_secondaries ipv4/conf/default/promote_secondaries; do echo 1 >"/proc/sys/net/$f"; done'
    # Both ends are created inside namespaces: the root namespace never sees the veth pair.
    ip -n "$bridge_ns" link add "h${i}" type veth peer name eth0 netns "$host"
    ip -n "$bridge_ns" link set "h${i}" master br0 up
    ip -n "$host" link set lo up
    ip -n "$host" link set eth0 up
    ip -n "$host" addr add "${IPV4_NET}.${i}/24" dev eth0
    ip -n "$host" addr add "${IPV6_NET}:${i}/64" dev eth0 nodad
    ip -n "$host" route add 224.0.0.0/4 dev eth0
  done
  trap - ERR
  cmd_list "$prefix"
}

cmd_down() {
  local prefix=${1:-$DEFAULT_PREFIX}
  check_prefix "$prefix"
  need_tools
  local ns pids
  for ns in $(namespaces_of "$prefix"); do
    # Processes left inside would keep the namespace (and its sockets) alive after the name
    # is gone; end only those, found by namespace, never by process name.
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    if [[ -n "$pids" ]]; then
      # shellcheck disable=SC2086
      kill -TERM $pids 2>/dev/null || true
    fi
    ip netns del "$ns" 2>/dev/null || true
  done
}

cmd_list() {
  local prefix=${1:-$DEFAULT_PREFIX}
  check_prefix "$prefix"
  namespaces_of "$prefix" | grep -E -- '-h[0-9]+$' | awk -F'-h' '{ print $NF, $0 }' | sort -n | cut -d' ' -f2 || true
}

cmd_exec() {
  local host=${1:-}
  [[ -n "$host" ]] || die "exec: which host?"
  shift
  (($# > 0)) || die "exec: which command?"
  need_tools
  if [[ "$host" =~ ^h[0-9]+$ ]]; then
    local prefix=${TESTBED_PREFIX:-$DEFAULT_PREFIX}
    check_prefix "$prefix"
    host="${prefix}-${host}"
  fi
  [[ "$host" =~ -h[0-9]+$ ]] || die "exec: '$host' is not a testbed host (PREFIX-hN or hN)"
  ip netns list | awk '{print $1}' | grep -qxF -- "$host" || die "exec: no host '$host' (is the testbed up?)"
  exec ip netns exec "$host" "$@"
}

main() {
  local command=${1:-}
  (($# > 0)) && shift
  case "$command" in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    exec) cmd_exec "$@" ;;
    list) cmd_list "$@" ;;
    -h | --help | help | '') usage ;;
    *) die "unknown command '$command' (up, down, exec, list)" ;;
  esac
}

main "$@"
