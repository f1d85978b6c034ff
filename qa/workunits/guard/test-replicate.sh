#!/usr/bin/env bash
# Without the guard, dc-b cannot reach cluster A at all. With knockd and
# serve in dc-a and connect in dc-b, one `pool enable` makes the real
# rbd-mirror in dc-b replicate A's images: `rbd export | md5sum` matches on
# both sides, in journal mode and in snapshot mode (and again after more
# writes and a mirror snapshot). A second `pool enable` changes nothing and
# says so. Journal mode's bytes behind grow while rbd-mirror is stopped and
# writes go on, and are 0 after convergence. Stopping connect removes its
# nftables table.
. "$(dirname "$0")/lib.sh"

sites_setup
clusters_setup
pki_setup
configs_write

if in_b timeout 30 ceph -c "$WORK/$CA.conf" --connect-timeout 8 -s >/dev/null 2>&1; then
	fail "dc-b reached cluster A without the guard"
fi
pass "without the guard, dc-b cannot reach cluster A"

knockd_start
serve_start
connect_start
wait_for 30 tunnel_up || fail "the tunnel did not come up: $(connect_status)"
table_present || fail "connect made no nftables table"
pass "tunnel up: $(connect_status | grep -o '"redirected":\[[^]]*\]')"

image_write img-j journal 16
out=$(pool_enable --image-mode journal) || fail "pool enable: $out"
grep -q "peer $CA: set" <<<"$out" || fail "pool enable did not bootstrap the peer: $out"
grep -q "image img-j: mirroring: set" <<<"$out" || fail "img-j not enabled: $out"
pass "pool enable (journal): $(tail -n1 <<<"$out")"
# The bootstrap token carries client.rbd-mirror-peer's key: it must be
# nowhere but in the clusters (no output, log or file of ours).
peer_key=$(in_a timeout 30 ceph -c "$WORK/$CA.conf" auth get-key client.rbd-mirror-peer)
[ -n "$peer_key" ] || fail "no client.rbd-mirror-peer on $CA after the bootstrap"
! grep -q -- "$peer_key" <<<"$out" || fail "pool enable printed the peer's key"
# (Ceph's own daemon directories and rbd-mirror's log are Ceph's business.)
leaks=$(grep -r -l -F -D skip --exclude-dir=$CA --exclude-dir=$CB --exclude=rbd-mirror.log \
	-- "$peer_key" "$WORK" 2>/dev/null || true)
[ -z "$leaks" ] || fail "the peer's key is in: $leaks"
pass "the bootstrap token's key reached no output, log or file"
mirror_start
wait_converged img-j 300
pass "journal mode: img-j replicated, md5 $(image_md5 b img-j) on both sides"

# Journal mode's bytes behind are read from the primary's journal (through
# the tunnel): with rbd-mirror stopped, 8 MiB written on A are behind (data
# and framing); once it has replayed and committed them, nothing is.
bytes_behind() { # IMAGE
	in_b "$GUARD" pool status $POOL --primary $CA --secondary $CB --conf-dir "$WORK" \
		--format json | jq -r ".images[] | select(.name == \"$1\") | .bytes_behind"
}
kill "$MIRROR_PID"
wait "$MIRROR_PID" 2>/dev/null || true
MIRROR_PID=""
more_writes 8
behind=$(bytes_behind img-j)
[ "$behind" -ge $((8 << 20)) ] 2>/dev/null ||
	fail "with rbd-mirror stopped after 8 MiB of writes, bytes_behind is '$behind'"
pass "rbd-mirror stopped, 8 MiB written: img-j is $behind bytes behind"
mirror_start
wait_converged img-j 300
caught_up() { [ "$(bytes_behind img-j)" = 0 ]; }
wait_for 120 caught_up || fail "img-j converged but bytes_behind is $(bytes_behind img-j)"
pass "rbd-mirror replayed: img-j converged and is 0 bytes behind"

image_write img-s snapshot 16
out=$(pool_enable --image-mode snapshot --snapshot-interval 1m) || fail "pool enable: $out"
grep -q "image img-s: mirroring: set" <<<"$out" || fail "img-s not enabled: $out"
grep -q "image img-j: mirroring: already" <<<"$out" || fail "img-j touched again: $out"
wait_converged img-s 300
pass "snapshot mode: img-s replicated, md5 $(image_md5 b img-s) on both sides"
rbd_a bench --io-type write --io-size 64K --io-total 8M --io-pattern rand "$POOL/img-s" >/dev/null
rbd_a mirror image snapshot "$POOL/img-s" >/dev/null
wait_converged img-s 300
pass "snapshot mode: new writes and a mirror snapshot converge again"

out=$(pool_enable --image-mode snapshot --snapshot-interval 1m) || fail "second pool enable: $out"
grep -q "nothing changed" <<<"$out" || fail "second pool enable changed something: $out"
! grep -q ": set$" <<<"$out" || fail "second pool enable set something: $out"
pass "pool enable run twice is a no-op: $(tail -n1 <<<"$out")"

st=$(in_b "$GUARD" pool status $POOL --secondary $CB --conf-dir "$WORK" --format json \
	--socket "$WORK/connect.sock") || fail "pool status: $st"
grep -q '"name":"img-j"' <<<"$st" && grep -q '"tunnel_up":true' <<<"$st" || fail "pool status: $st"
pass "pool status shows the images and the tunnel"

connect_stop
! table_present || fail "connect's nftables table outlived it"
pass "after connect stops, its nftables table is gone"
