#!/bin/bash
# The knock port looks filtered: no reply to UDP probes (not even ICMP port
# unreachable) and none to TCP probes (no SYN-ACK, no RST), while the same
# probes to an ordinary closed port do get their ICMP error and RST -- so
# the probes would see an answer if there were one.
. "$(dirname "$0")/lib.sh"
setup_all

in_client "$KNOCK_FORGE" probe-udp $SERVER4 9 && fail "the UDP probe cannot see ICMP errors"
in_client "$KNOCK_FORGE" probe-tcp $SERVER4 9 && fail "the TCP probe cannot see RSTs"
pass "control: an ordinary closed port answers both probes"

in_client "$KNOCK_FORGE" probe-udp $SERVER4 $KNOCK_PORT || fail "UDP probe of the knock port got an answer"
in_client "$KNOCK_FORGE" probe-tcp $SERVER4 $KNOCK_PORT || fail "TCP probe of the knock port got an answer"
in_client "$KNOCK_FORGE" probe-udp $SERVER6 $KNOCK_PORT || fail "IPv6 UDP probe of the knock port got an answer"
in_client "$KNOCK_FORGE" probe-tcp $SERVER6 $KNOCK_PORT || fail "IPv6 TCP probe of the knock port got an answer"
pass "the knock port answers no UDP or TCP probe (IPv4 and IPv6)"

in_server ss -lun | grep -q ":$KNOCK_PORT " && fail "a socket is bound to the knock port"
pass "no socket is open on the knock port"
in_client "$KNOCK_FORGE" probe-tcp $SERVER4 2223 || fail "a protected port answered a TCP probe"
pass "protected ports look filtered too"
