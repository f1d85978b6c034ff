#!/bin/bash
# While an attacker (another address) floods the knock port with at least
# 10,000 knocks a second that carry crafted certificates -- 4096 distinct
# ones in the CA's name, each knock correctly signed by its certificate's own
# key, so only the certificate's signature can refuse it -- and another
# 6,000 a second of junk (half behind a valid header, each costing an
# X25519), a valid knock from a client whose certificate knockd has never
# seen still opens its port within 1 s, and knockd verified only a bounded
# number of the crafted certificates (the rest were refused from the cache
# or by the rate limit).
. "$(dirname "$0")/lib.sh"
setup_all
sed -i 's/log_rejects_per_second = 0/log_rejects_per_second = 20/' "$WORK/knockd.conf"
kill -HUP "$KNOCKD_PID"
log_wait "reloaded:"

in_client "$KNOCK_FORGE" flood $SERVER4 $KNOCK_PORT 10500 7 --from $OTHER4 \
	--certs "$WORK/pki/ca.crt" --server-key "$WORK/pki/server.pub" > "$WORK/certs.rate" &
CERTS_PID=$!
in_client "$KNOCK_FORGE" flood $SERVER4 $KNOCK_PORT 6000 5 --from $OTHER4 > "$WORK/junk.rate" &
JUNK_PID=$!
BG_PIDS="$BG_PIDS $CERTS_PID $JUNK_PID"
# The crafted knocks are made first (about a second), then sent for 7 s.
for _ in $(seq 100); do
	[ "$(log_count "src=$OTHER4 .*reason=\(bad-certificate\|rate-limited\)")" -gt 0 ] && break
	sleep 0.05
done
sleep 1
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
wait "$CERTS_PID" "$JUNK_PID"
certs=$(cat "$WORK/certs.rate") junk=$(cat "$WORK/junk.rate")
echo "   (flood: $certs crafted-certificate knocks/s and $junk junk datagrams/s)"
[ "$certs" -ge 10000 ] || fail "the crafted-certificate flood reached only $certs knocks/s"
kill -USR1 "$KNOCKD_PID"
log_wait "status {"
cat "$WORK/status.json"
received=$(sed -n 's/.*"received":\([0-9]*\).*/\1/p' "$WORK/status.json")
verified=$(sed -n 's/.*"cert_verified":\([0-9]*\).*/\1/p' "$WORK/status.json")
[ "$received" -ge 60000 ] || fail "knockd saw only $received datagrams of the flood"
# At most 10 a second from the attacker's one address (verify_per_source), plus
# the negative cache: a few hundred verifications in 7 s, not tens of thousands.
[ "${verified:-999999}" -le 200 ] || fail "knockd verified $verified crafted certificates"
limited=$(sed -n 's/.*"cert_rate_limited":\([0-9]*\).*/\1/p' "$WORK/status.json")
[ "${verified:-0}" -ge 1 ] || fail "no crafted certificate was verified at all"
[ "${limited:-0}" -ge 30000 ] || fail "only ${limited:-0} crafted certificates were refused by the rate limit"
grep -q "reject src=$OTHER4 subject=\"CN=forged-[0-9]*,O=SafeCloud\" reason=bad-certificate detail=\"certificate signature failure" "$LOG" ||
	grep -q '"bad-certificate":[1-9]' "$WORK/status.json" || fail "no crafted certificate was refused for its signature"
pass "under $certs crafted-certificate knocks/s and $junk junk/s a valid knock opened its port in $elapsed ms ($verified certificates verified)"
