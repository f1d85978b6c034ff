#!/bin/bash
# Established flows stay open through conntrack: a TCP connection opened
# while the knock's set element lives keeps exchanging data after the kernel
# has expired the element (IPv4 and IPv6), while a new connection after the
# expiry is dropped. The rule that makes it so is "ct state
# established,related accept" in knockd's chain (docs/knockd.md).
. "$(dirname "$0")/lib.sh"
net_setup
pki_setup
config_write
ip netns exec "$NS_SERVER" "$KNOCK_FORGE" echo 2222 2223 &
BG_PIDS="$BG_PIDS $!"
knockd_start

# talk_start NAME ADDR PORT: a connection from the client, fed line by line
# through the FIFO NAME.in (the caller opens it for writing); its progress
# goes to NAME.out, its pid to TALK_PID.
talk_start() {
	name=$1
	shift
	mkfifo "$WORK/$name.in"
	ip netns exec "$NS_CLIENT" "$KNOCK_FORGE" talk "$@" < "$WORK/$name.in" \
		> "$WORK/$name.out" 2> "$WORK/$name.err" &
	TALK_PID=$!
	BG_PIDS="$BG_PIDS $TALK_PID"
}

# Waits up to 3 s for NAME.out to hold LINE.
talk_wait() {
	name=$1 line=$2
	for _ in $(seq 150); do
		grep -qx -- "$line" "$WORK/$name.out" && return 0
		sleep 0.02
	done
	fail "$name: no '$line' ($(cat "$WORK/$name.err"))"
}

can_connect $SERVER4 2222 && fail "tcp/2222 open before any knock"
can_connect $SERVER6 2223 && fail "IPv6 tcp/2223 open before any knock"

knock_as alice $SERVER4 2222/tcp
knock_as alice $SERVER6 2223/tcp
log_wait "accept src=$CLIENT4 .* tcp/2222"
log_wait "accept src=$CLIENT6 .* tcp/2223"

talk_start v4 $SERVER4 2222
TALK_V4=$TALK_PID
exec 3> "$WORK/v4.in"
talk_start v6 $SERVER6 2223
TALK_V6=$TALK_PID
exec 4> "$WORK/v6.in"
talk_wait v4 connected
talk_wait v6 connected
echo "sent before expiry" >&3
echo "sent before expiry" >&4
talk_wait v4 "echoed: sent before expiry"
talk_wait v6 "echoed: sent before expiry"
[ -n "$(set_elements)" ] || fail "the elements expired before the first line was echoed"
pass "connections opened while the port was open exchange data (IPv4, IPv6)"

# The kernel expires the elements after open_seconds; knockd does nothing.
for _ in $(seq 100); do
	[ -z "$(set_elements)" ] && break
	sleep 0.1
done
assert_sets_empty "after open_seconds"
can_connect $SERVER4 2222 && fail "a new IPv4 connection succeeded after the element expired"
can_connect $SERVER6 2223 && fail "a new IPv6 connection succeeded after the element expired"
pass "after the elements expired, new connections are dropped"

echo "sent after expiry" >&3
echo "sent after expiry" >&4
talk_wait v4 "echoed: sent after expiry"
talk_wait v6 "echoed: sent after expiry"
exec 3>&- 4>&-
wait "$TALK_V4" || fail "IPv4 talk failed: $(cat "$WORK/v4.err")"
wait "$TALK_V6" || fail "IPv6 talk failed: $(cat "$WORK/v6.err")"
pass "the established connections still carry data after the expiry, through conntrack"
