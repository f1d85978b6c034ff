#!/usr/bin/env bash
# Restarting serve, then connect (gracefully and killed): replication
# converges each time; a killed connect's table is replaced, not doubled,
# by the next, and the last one stopped leaves no table.
. "$(dirname "$0")/lib.sh"
mirror_setup
pass "converged"

serve_stop
more_writes 4
serve_start
wait_converged img-j 300
pass "serve restarted: converged"

connect_stop
! table_present || fail "table left after SIGTERM"
more_writes 4
connect_start
wait_converged img-j 300
pass "connect restarted: converged"

kill -KILL "$CONNECT_PID"
wait "$CONNECT_PID" 2>/dev/null || true
CONNECT_PID=""
table_present || fail "a killed connect should have left its table (nothing else removes it)"
more_writes 4
connect_start
grep -q "removed a stale nftables table inet $TABLE" "$WORK/connect.log" ||
	fail "the new connect did not report the stale table"
[ "$(in_b nft list tables | grep -c "inet $TABLE")" = 1 ] || fail "more than one table"
wait_converged img-j 300
pass "connect killed and restarted: stale table replaced, converged"
connect_stop
! table_present || fail "table left after the guard stopped"
[ -z "$(in_b nft list ruleset | grep -i redirect)" ] || fail "a redirect rule remains"
pass "after the guard stops no table and no redirect rule remains"
