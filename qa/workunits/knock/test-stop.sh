#!/bin/bash
# knockd never fails open. Stopped (SIGTERM), killed (SIGKILL), or unable to
# restart because of a config typo, it leaves its table and drop rules in
# place: the protected ports stay closed to everyone, the knock port stays
# silent, and what was opened is flushed (SIGTERM) or expires in the kernel
# (SIGKILL). A restart replaces the table atomically. Only knockd --remove
# deletes the table, and it refuses a table that is not knockd's; so does a
# start whose 'table' names another program's table.
. "$(dirname "$0")/lib.sh"
setup_all

closed_to_all() {
	what=$1
	in_server nft list table inet $TABLE > /dev/null || fail "$what: knockd's table is gone"
	can_connect $SERVER4 2222 && fail "$what: tcp/2222 open for the client"
	can_connect $SERVER4 2222 $OTHER4 && fail "$what: tcp/2222 open for another address"
	can_connect $SERVER6 2222 && fail "$what: IPv6 tcp/2222 open"
	in_client "$KNOCK_FORGE" probe-udp $SERVER4 $KNOCK_PORT || fail "$what: the knock port answered a UDP probe"
	in_client "$KNOCK_FORGE" probe-tcp $SERVER4 $KNOCK_PORT || fail "$what: the knock port answered a TCP probe"
}

knock_as alice $SERVER4 2222/tcp
log_wait "accept src=$CLIENT4"
can_connect $SERVER4 2222 || fail "the knock did not open tcp/2222"
knockd_stop
grep -q "stopped: opened ports closed, table inet $TABLE kept with its drop rules" "$LOG" || fail "no stop line"
assert_sets_empty "after SIGTERM"
closed_to_all "after SIGTERM"
pass "SIGTERM: table and drops kept, the opened port closed, the knock port silent"

knockd_start
knock_as alice $SERVER4 2222/tcp
log_wait "accept src=$CLIENT4" 2
kill -KILL "$KNOCKD_PID"
wait "$KNOCKD_PID" 2>/dev/null || true
KNOCKD_PID=""
can_connect $SERVER4 2222 $OTHER4 && fail "after SIGKILL: tcp/2222 open for another address"
for _ in $(seq 60); do
	[ -z "$(set_elements)" ] && break
	sleep 0.1
done
assert_sets_empty "after SIGKILL and open_seconds"
closed_to_all "after SIGKILL"
pass "SIGKILL: the drops stay, the opened element expires in the kernel"

# A restart that fails on a config typo leaves the running table alone.
cp "$WORK/knockd.conf" "$WORK/good.conf"
sed -i 's/open_seconds = /open_secnds = /' "$WORK/knockd.conf"
in_server "$KNOCKD" -c "$WORK/knockd.conf" --log-file - 2> "$WORK/typo.err" && fail "knockd started with a typo"
grep -q "unknown setting 'open_secnds'" "$WORK/typo.err" || fail "no typo message: $(cat "$WORK/typo.err")"
closed_to_all "after a failed start"
pass "a start that fails on a config typo leaves the ports closed"
cp "$WORK/good.conf" "$WORK/knockd.conf"

# A restart over the kept table replaces it in one transaction and works.
knockd_start
knock_as alice $SERVER4 2223/tcp
log_wait "accept src=$CLIENT4 .* tcp/2223"
can_connect $SERVER4 2223 || fail "after a restart over the kept table, the knock did not open"
[ "$(in_server nft list tables | grep -c "inet $TABLE")" = 1 ] || fail "more than one table"
knockd_stop
pass "a restart over the kept table works"

# Another program's table of the configured name: refused at start and by --remove.
in_server nft add table inet knk-foreign
in_server nft add chain inet knk-foreign keep
sed "s/table = \"$TABLE\"/table = \"knk-foreign\"/" "$WORK/knockd.conf" > "$WORK/foreign.conf"
in_server "$KNOCKD" -c "$WORK/foreign.conf" --log-file - 2> "$WORK/foreign.err" && fail "knockd took over a foreign table"
grep -q "table inet knk-foreign exists and is not knockd's" "$WORK/foreign.err" || fail "no message: $(cat "$WORK/foreign.err")"
in_server "$KNOCKD" -c "$WORK/foreign.conf" --remove 2> "$WORK/foreign-remove.err" && fail "--remove deleted a foreign table"
in_server nft list chain inet knk-foreign keep > /dev/null || fail "the foreign table was changed"
pass "a table of the same name that is not knockd's is neither replaced nor removed"

in_server "$KNOCKD" -c "$WORK/knockd.conf" --remove | grep -q "table inet $TABLE removed" || fail "--remove said nothing"
in_server nft list tables | grep -q "inet $TABLE\$" && fail "the table survived --remove"
can_connect $SERVER4 2222 || fail "after --remove tcp/2222 is still closed"
pass "knockd --remove deletes the table on purpose (and the ports are open then)"
