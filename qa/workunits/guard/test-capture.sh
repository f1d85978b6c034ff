#!/usr/bin/env bash
# A capture on dc-b's WAN link while an image full of a marker replicates
# holds none of the image's bytes in clear; the same capture taken where the
# bytes travel without the tunnel (dc-a's loopback, serve to the OSD, Ceph's
# default crc mode) holds the marker, so the check can fail.
. "$(dirname "$0")/lib.sh"
guard_setup
marker=SAFECLOUD-GUARD-CLEARTEXT-MARKER
yes "$marker" | head -c 8M > "$WORK/marker.img"
ip netns exec "$SB" tcpdump -i wan0 -U -w "$WORK/wan.pcap" tcp 2>/dev/null &
PIDS="$PIDS $!"
ip netns exec "$SA" tcpdump -i lo -U -w "$WORK/lo.pcap" tcp and host $A_IP 2>/dev/null &
PIDS="$PIDS $!"
sleep 1
rbd_a import --image-feature exclusive-lock,journaling "$WORK/marker.img" "$POOL/img-m" >/dev/null
pool_enable --image-mode journal >/dev/null || fail "pool enable"
mirror_start
wait_converged img-m 300
sleep 1
for pid in $PIDS; do kill "$pid"; wait "$pid" 2>/dev/null || true; done
PIDS=""
wan_bytes=$(stat -c %s "$WORK/wan.pcap")
[ "$wan_bytes" -gt 8000000 ] || fail "the WAN capture saw only $wan_bytes bytes: not the replication"
[ "$(grep -a -c "$marker" "$WORK/lo.pcap")" -gt 0 ] || fail "control: no marker on dc-a's loopback"
n=$(grep -a -c "SAFECLOUD-GUARD" "$WORK/wan.pcap" || true)
[ "$n" = 0 ] || fail "$n lines of the image in clear on the WAN"
pass "WAN capture of $wan_bytes bytes holds no image bytes in clear (the unencrypted leg does)"
