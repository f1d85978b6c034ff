#!/usr/bin/env bash
# A WAN cut of 10 s during replication: the tunnel goes down, comes back by
# itself (re-knock, back-off) and the image converges.
. "$(dirname "$0")/lib.sh"
mirror_setup
pass "converged before the cut"
more_writes 8
"$SITES" cut --dir "$WORK" "$SA"
sleep 10
"$SITES" heal --dir "$WORK" "$SA"
more_writes 4
wait_converged img-j 300
wait_for 60 tunnel_up || fail "tunnel not up after the heal: $(connect_status)"
pass "after a 10 s cut replication resumed and converged: $(connect_status | grep -o '"reknocks":[0-9]*')"
