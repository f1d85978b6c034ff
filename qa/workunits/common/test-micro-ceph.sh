#!/usr/bin/env bash
# micro-ceph's own contract: a cluster inside a network namespace on its own
# address, reachable from the host only through the veth; stop/restart keeps
# the data; stop ends exactly its own daemons and frees the port block; bad
# arguments fail with one line and start nothing.
#   test-micro-ceph.sh MICRO_CEPH
set -euo pipefail
MC=$1
id=mc$$
ns=$id-ns dir=$(mktemp -d /tmp/sc-mc-XXXXXX)
cleanup() {
	"$MC" stop --dir "$dir" >/dev/null 2>&1 || true
	ip netns del "$ns" 2>/dev/null || true
	ip link del "${id}h" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }

ip netns add "$ns"
ip -n "$ns" link set lo up
ip link add "${id}h" type veth peer name "${id}n" netns "$ns"
ip addr add 10.97.0.1/24 dev "${id}h"
ip link set "${id}h" up
ip -n "$ns" addr add 10.97.0.2/24 dev "${id}n"
ip -n "$ns" link set "${id}n" up

out=$("$MC" start --dir "$dir" --netns "$ns" --ip 10.97.0.2 --pool p1 dcn)
grep -q 'dcn: up, mon \[v2:10.97.0.2:' <<<"$out" || fail "start output: $out"
ok "a cluster starts inside namespace $ns on 10.97.0.2"
base=$(cat "$dir/dcn/port-base")
ip netns exec "$ns" ss -Hltn "sport = :$base" | grep -q 10.97.0.2 || fail "mon not listening in the namespace"
[ -z "$(ss -Hltn "sport = :$base")" ] || fail "mon port is open outside the namespace"
ok "its mon listens in the namespace only"
[ -d "/run/micro-ceph/$base" ] || fail "port block $base not claimed"

echo hello | rados -c "$dir/dcn.conf" -p p1 put obj - || fail "write from the host through the veth"
[ "$(rados -c "$dir/dcn.conf" -p p1 get obj -)" = hello ] || fail "read back"
ok "the host writes and reads through the veth with cephx"

pids=$(cat "$dir"/dcn/*.pid)
"$MC" stop --dir "$dir" dcn
for p in $pids; do [ ! -d "/proc/$p" ] || fail "daemon $p still running after stop"; done
[ ! -d "/run/micro-ceph/$base" ] || fail "port block $base not released after stop"
ok "stop ends its daemons and releases its ports"

"$MC" restart --dir "$dir" dcn >/dev/null
[ "$(timeout 60 rados -c "$dir/dcn.conf" -p p1 get obj -)" = hello ] || fail "data lost across stop/restart"
ok "restart brings the cluster back with its objects"

rc=0; err=$("$MC" start --dir "$dir" --memstore-size lots x 2>&1) || rc=$?
[ $rc -ne 0 ] && [ "$(wc -l <<<"$err")" = 1 ] && grep -q "not a size" <<<"$err" || fail "bad size: rc=$rc '$err'"
rc=0; err=$("$MC" start --dir "$dir" --netns no-such-ns-$$ x 2>&1) || rc=$?
[ $rc -ne 0 ] && grep -q "no network namespace" <<<"$err" || fail "bad netns: rc=$rc '$err'"
rc=0; err=$("$MC" start --dir "$dir" 'bad/name' 2>&1) || rc=$?
[ $rc -ne 0 ] && grep -q "invalid cluster name" <<<"$err" || fail "bad name: rc=$rc '$err'"
[ ! -e "$dir/x.conf" ] || fail "a refused start left a cluster behind"
ok "bad arguments fail with one line and start nothing"
