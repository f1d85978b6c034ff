#!/bin/bash
# A valid knock opens exactly the requested port for exactly the client's
# address, within 1 s; the kernel closes it again after open_seconds; a
# re-knock refreshes the one element; IPv6 and --open-address work; access
# rules in knockd.conf grant by certificate subject; other tables are never
# touched (stopping is test-stop.sh).
. "$(dirname "$0")/lib.sh"
net_setup
pki_setup
config_write
listener_start
# A table that is not knockd's: it must survive knockd's start and stop.
in_server nft add table inet bystander
in_server nft add chain inet bystander keep
knockd_start

# Waits (up to 1 s after T0, in ms) until a connect from SOURCE succeeds.
open_within_1s() {
	t0=$1 addr=$2 port=$3 source=${4:-}
	while :; do
		if set_elements | grep -q "${source:-$CLIENT4} . tcp . $port\|${source:-$CLIENT6} . tcp . $port"; then
			can_connect "$addr" "$port" $source && break
		fi
		[ $(($(now_ms) - t0)) -le 1000 ] || fail "$addr port $port not open within 1 s"
		sleep 0.01
	done
	elapsed=$(($(now_ms) - t0))
	[ "$elapsed" -le 1000 ] || fail "$addr port $port opened after $elapsed ms"
	echo "   (open after $elapsed ms)"
}

# The knocks are parsed by the engine, a child with nothing to lose.
ENGINE=$(pgrep -P "$KNOCKD_PID" | head -1)
[ -n "$ENGINE" ] || fail "knockd has no engine process"
grep -q "^Uid:	65534" /proc/$ENGINE/status || fail "the engine runs as $(grep ^Uid: /proc/$ENGINE/status)"
grep -q "^CapEff:	0000000000000000" /proc/$ENGINE/status || fail "the engine holds capabilities"
grep -q "^NoNewPrivs:	1" /proc/$ENGINE/status || fail "the engine lacks no_new_privs"
grep -q "^Seccomp:	2" /proc/$ENGINE/status || fail "the engine has no seccomp filter"
[ "$(ls /proc/$ENGINE/fd | wc -l)" -le 6 ] || fail "the engine holds $(ls -l /proc/$ENGINE/fd)"
grep -q "^CapEff:	0000000000000000" /proc/$KNOCKD_PID/status && fail "the parent lost CAP_NET_ADMIN"
pass "the engine runs as nobody, without capabilities, under seccomp; the parent keeps its own"

can_connect $SERVER4 2222 && fail "tcp/2222 open before any knock"
can_connect $SERVER4 2223 && fail "tcp/2223 open before any knock"
pass "protected ports closed before the knock"

t0=$(now_ms)
knock_as alice $SERVER4 2222/tcp
open_within_1s "$t0" $SERVER4 2222
pass "knock opened tcp/2222 for the client within 1 s"

can_connect $SERVER4 2223 && fail "tcp/2223 opened though only 2222 was asked"
pass "a port the certificate allows but the knock did not ask stays closed"
can_connect $SERVER4 2222 $OTHER4 && fail "tcp/2222 open for a third address"
pass "the port stays closed for another address"
[ "$(set_elements | grep -o ' \. tcp \. ' | wc -l)" -eq 1 ] || fail "more than one element: $(set_elements)"

# A re-knock refreshes the one element instead of adding another.
sleep 1.5
knock_as alice $SERVER4 2222/tcp
log_wait "accept src=$CLIENT4" 2
el=$(set_elements)
[ "$(echo "$el" | grep -o ' \. tcp \. 2222' | wc -l)" -eq 1 ] || fail "re-knock added a second element: $el"
left=$(echo "$el" | sed -n 's/.*expires \([0-9]*\)s.*/\1/p')
[ "${left:-0}" -ge 2 ] || fail "re-knock did not refresh the timeout: $el"
pass "a re-knock refreshes the element's timeout"

# The kernel closes the port after open_seconds (3 s), knockd doing nothing.
for _ in $(seq 60); do
	[ -z "$(set_elements)" ] && break
	sleep 0.1
done
assert_sets_empty "after the timeout"
can_connect $SERVER4 2222 && fail "tcp/2222 still open after the timeout"
pass "the port closes again after the timeout"

# IPv6.
t0=$(now_ms)
knock_as alice $SERVER6 2223/tcp
while ! set_elements | grep -q "$CLIENT6 . tcp . 2223"; do
	[ $(($(now_ms) - t0)) -le 1000 ] || fail "IPv6 knock did not open within 1 s"
	sleep 0.01
done
can_connect $SERVER6 2223 || fail "IPv6 connect failed after the knock"
can_connect $SERVER6 2222 && fail "IPv6 tcp/2222 open though not asked"
can_connect $SERVER6 2223 $OTHER6 && fail "IPv6 tcp/2223 open for another address"
pass "IPv6 knock opens the port for the client's IPv6 address only"

# --open-address: the signed request names the address (clients behind NAT).
knock_as alice $SERVER4 2223/tcp --open-address $OTHER4
log_wait "open=$OTHER4 tcp/2223"
can_connect $SERVER4 2223 $OTHER4 || fail "--open-address did not open for $OTHER4"
can_connect $SERVER4 2223 && fail "--open-address also opened the knocking address"
pass "--open-address opens the named address, not the sender"

# carol's certificate has no ports extension: knockd.conf grants her tcp/2224.
knock_as carol $SERVER4 2224/tcp
log_wait 'accept src=.* subject="CN=carol,O=SafeCloud" open=.* tcp/2224'
can_connect $SERVER4 2224 || fail "access rule did not open tcp/2224 for carol"
pass "an access rule keyed by subject grants a port"

# --repeat sends fresh knocks (no replay rejects for a lossy-link client).
knock_as alice $SERVER4 2222/tcp --repeat 3 --interval 50
log_wait "accept src=$CLIENT4 .* tcp/2222" 5
grep -q "reason=replay" "$LOG" && fail "--repeat produced replay rejects"
pass "--repeat 3 sends three valid knocks"

knockd_stop
in_server nft list table inet bystander >/dev/null || fail "another table was touched"
in_server "$KNOCKD" -c "$WORK/knockd.conf" --remove > /dev/null || fail "knockd --remove failed"
in_server nft list tables | grep -q "inet $TABLE" && fail "knockd's table left after --remove"
in_server nft list table inet bystander >/dev/null || fail "--remove touched another table"
pass "knockd --remove deletes knockd's table and leaves the others"
