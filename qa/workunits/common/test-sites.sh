#!/usr/bin/env bash
# qa/cluster/sites keeps its contract: each site's measured round trip
# matches --rtt (and site to site is the sum of both links), shape changes it,
# cut makes a site unreachable and heal brings it back with its shape, a
# micro cluster runs inside a site and answers through the WAN, traffic to
# addresses outside the test bed is dropped, and down removes exactly what up
# made. Bad arguments fail with one line and make nothing.
#   test-sites.sh SITES MICRO_CEPH
set -euo pipefail
SITES=$1 MC=$2
dir=$(mktemp -d /tmp/sc-sites-XXXXXX)
a=scs$$a b=scs$$b
cleanup() {
	"$MC" stop --dir "$dir" >/dev/null 2>&1 || true
	"$SITES" down --dir "$dir" >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }

# The median round trip in ms of 5 pings, run in namespace $1 ("" for the host).
rtt_ms() {
	local ns=$1 addr=$2 out
	if [ -n "$ns" ]; then out=$(ip netns exec "$ns" ping -n -c 5 -i 0.2 -W 2 "$addr")
	else out=$(ping -n -c 5 -i 0.2 -W 2 "$addr"); fi
	grep -o 'time=[0-9.]*' <<<"$out" | cut -d= -f2 | sort -n | sed -n 3p
}
# A measured round trip is the configured one plus at most a few ms of
# scheduling on a loaded two-core machine; never less.
near() { awk -v m="$1" -v want="$2" 'BEGIN { exit !(m >= want - 0.5 && m <= want + 8) }'; }

out=$("$SITES" up --dir "$dir" --rtt 20ms "$a" "$b")
addr_a=$(cat "$dir/$a.addr") addr_b=$(cat "$dir/$b.addr")
[ "$(wc -l <<<"$out")" = 2 ] && grep -qx "$a $addr_a" <<<"$out" && grep -qx "$b $addr_b" <<<"$out" ||
	fail "up output: $out"
ok "up prints SITE ADDR and writes DIR/SITE.addr"

m=$(rtt_ms "" "$addr_a"); near "$m" 20 || fail "host to $a: $m ms, want 20"
m=$(rtt_ms "$a" "$addr_b"); near "$m" 40 || fail "$a to $b: $m ms, want 40"
ok "round trips: host to site 20 ms, site to site 40 ms"

"$SITES" shape --dir "$dir" "$b" --rtt 0
m=$(rtt_ms "$a" "$addr_b"); near "$m" 20 || fail "after shape $b 0: $a to $b $m ms, want 20"
ok "shape changes a site's round trip"

"$SITES" cut --dir "$dir" "$a"
! ping -n -c 2 -W 1 "$addr_a" >/dev/null 2>&1 || fail "$a answers while cut"
! ip netns exec "$b" ping -n -c 2 -W 1 "$addr_a" >/dev/null 2>&1 || fail "$a answers $b while cut"
grep -q ' cut$' <<<"$("$SITES" status --dir "$dir" | grep "^$a ")" || fail "status does not show the cut"
"$SITES" heal --dir "$dir" "$a"
m=$(rtt_ms "" "$addr_a"); near "$m" 20 || fail "after heal: $m ms, want 20 (the shape before the cut)"
ok "cut makes a site unreachable; heal restores it as it was"

! ip netns exec "$a" ping -n -c 1 -W 1 192.0.2.1 >/dev/null 2>&1 || fail "a site reached 192.0.2.1"
ok "nothing outside the test bed is routed from a site"

"$SITES" shape --dir "$dir" "$a" --rtt 2ms
out=$("$MC" start --dir "$dir" --netns "$a" --ip "$addr_a" --pool p dcw)
echo hello | rados -c "$dir/dcw.conf" -p p put obj - || fail "write to the cluster in $a"
[ "$(rados -c "$dir/dcw.conf" -p p get obj -)" = hello ] || fail "read back from $a"
"$MC" stop --dir "$dir" dcw
ok "a micro cluster runs in a site and answers over the WAN"

rc=0; err=$("$SITES" up --dir "$dir" x 2>&1) || rc=$?
[ $rc -ne 0 ] && grep -q "is up in" <<<"$err" || fail "second up in one dir: rc=$rc '$err'"
rc=0; err=$("$SITES" shape --dir "$dir" nosuch --rtt 1ms 2>&1) || rc=$?
[ $rc -ne 0 ] && grep -q "no site 'nosuch'" <<<"$err" || fail "unknown site: rc=$rc '$err'"
rc=0; err=$("$SITES" shape --dir "$dir" "$a" --rtt fast 2>&1) || rc=$?
[ $rc -ne 0 ] && [ "$(wc -l <<<"$err")" = 1 ] || fail "bad rtt: rc=$rc '$err'"
ok "bad arguments fail with one line"

pid=$(cat "$dir/wan-router.pid") block=$(awk '$1 == "block" { print $2 }' "$dir/sites.state")
"$SITES" down --dir "$dir"
! ip netns list | grep -qw -- "$a" && ! ip netns list | grep -qw -- "$b" || fail "namespaces left"
! ip link show "scw${block}h" >/dev/null 2>&1 || fail "host device scw${block}h left"
[ ! -d "/proc/$pid" ] || fail "wan-router $pid still running"
[ ! -e "/run/sc-sites/$block" ] || fail "address block $block still claimed"
"$SITES" down --dir "$dir" || fail "a second down must be a no-op"
ok "down removes namespaces, device, router and claim, and may run twice"
