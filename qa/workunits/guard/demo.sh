#!/usr/bin/env bash
# The guard's part of qa/run-demo: two sites of the WAN test bed, an image
# written on A, one `pool enable`, the real rbd-mirror in dc-b replicating
# through knockd + serve + connect, the md5 on both sides and the tunnel's
# status. Run from the source tree after a build, as root.
BUILD=${BUILD:-build}
export GUARD=$BUILD/rbd-mirror-guard/rbd-mirror-guard KNOCKD=$BUILD/knockd/knockd
export KNOCK=$BUILD/knockd/knock SITES_WAN_ROUTER=$BUILD/qa/wan-router
export SITES=qa/cluster/sites MICRO_CEPH=qa/cluster/micro-ceph MAKE_PKI=qa/workunits/knock/make-pki
. "$(dirname "$0")/lib.sh"

echo "two sites 10 ms apart: cluster $CA in dc-a on $A_IP (dc-b has no way there), $CB in dc-b"
RTT=5ms guard_setup
if in_b timeout 15 ceph -c "$WORK/$CA.conf" --connect-timeout 5 -s >/dev/null 2>&1; then
	echo "dc-b reached $CA without the guard?"
else
	echo "without the guard dc-b gets nothing from $CA; with it the tunnel is up"
fi
image_write demo-img journal 16
echo "rbd-mirror-guard pool enable $POOL --primary $CA --secondary $CB:"
pool_enable --image-mode journal | sed 's/^/  /'
mirror_start
echo "the real rbd-mirror in dc-b replicates through the tunnel..."
wait_converged demo-img 300
echo "md5 of rbd export on $CA: $(image_md5 a demo-img)"
echo "md5 of rbd export on $CB: $(image_md5 b demo-img)"
echo "the tunnel's status (rbd-mirror-guard status):"
connect_status | sed 's/^/  /'
