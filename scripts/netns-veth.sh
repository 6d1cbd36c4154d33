# Sourced by the live benchmarks: a fresh network namespace joined to the host by a veth
# pair (MTU 9000, IPv6 off so the link stays quiet), removed with $WORK on exit.
# usage: netns_veth PREFIX   sets NS, HOST_IF (the host's end), NS_IF (the namespace's end), WORK
netns_veth() {
  NS=$1$$ HOST_IF=${1:0:3}h$$ NS_IF=${1:0:3}n$$
  WORK=$(mktemp -d)
  trap 'ip link del "$HOST_IF" 2>/dev/null || true; ip netns del "$NS" 2>/dev/null || true; rm -rf "$WORK"' EXIT
  ip netns add "$NS"
  ip link add "$HOST_IF" mtu 9000 type veth peer name "$NS_IF" mtu 9000
  ip link set "$NS_IF" netns "$NS"
  ip link set "$HOST_IF" up
  ip -n "$NS" link set "$NS_IF" up
  sysctl -q -w "net.ipv6.conf.$HOST_IF.disable_ipv6=1"
  ip netns exec "$NS" sysctl -q -w "net.ipv6.conf.$NS_IF.disable_ipv6=1"
}
