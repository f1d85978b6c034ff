#!/bin/bash
# While another process floods the knock port with at least 10,000 bogus
# datagrams a second (half of them behind a valid header, so each costs an
# X25519), a valid knock still opens its port within 1 s.
. "$(dirname "$0")/lib.sh"
setup_all
sed -i 's/log_rejects_per_second = 0/log_rejects_per_second = 20/' "$WORK/knockd.conf"
kill -HUP "$KNOCKD_PID"
log_wait "reloaded:"

in_client "$KNOCK_FORGE" flood $SERVER4 $KNOCK_PORT 15000 6 > "$WORK/flood.rate" &
FLOOD_PID=$!
BG_PIDS="$BG_PIDS $FLOOD_PID"
sleep 2
kill -0 "$KNOCKD_PID" || fail "knockd died under the flood"
t0=$(now_ms)
knock_as alice $SERVER4 2222/tcp
while ! set_elements | grep -q "$CLIENT4 . tcp . 2222"; do
	[ $(($(now_ms) - t0)) -le 1000 ] || fail "no open within 1 s under the flood"
	sleep 0.01
done
elapsed=$(($(now_ms) - t0))
can_connect $SERVER4 2222 || fail "connect failed under the flood"
echo "   (open after $elapsed ms under the flood)"
wait "$FLOOD_PID"
rate=$(cat "$WORK/flood.rate")
echo "   (flood rate $rate datagrams/s)"
[ "$rate" -ge 10000 ] || fail "the flood reached only $rate datagrams/s"
kill -USR1 "$KNOCKD_PID"
log_wait "status {"
cat "$WORK/status.json"
received=$(sed -n 's/.*"received":\([0-9]*\).*/\1/p' "$WORK/status.json")
[ "$received" -ge 40000 ] || fail "knockd saw only $received datagrams of the flood"
pass "under a flood of $rate datagrams/s a valid knock opened its port in $elapsed ms"
