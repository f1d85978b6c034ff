#!/bin/bash
# Every bad knock is rejected, logged with its reason, and opens nothing:
# replay (also across SIGHUP), stale and future timestamps, a certificate of
# another CA, a revoked certificate, a port not authorised, a forged
# signature, one flipped bit at many positions, truncated, oversized and
# garbage datagrams. knockd keeps running and a valid knock still works.
. "$(dirname "$0")/lib.sh"
setup_all
P=$WORK/packets
mkdir -p "$P"

# Sends FILE (with send options) and expects a reject with REASON, nothing open.
expect_reject() {
	reason=$1 what=$2
	shift 2
	before=$(grep -c "reason=$reason " "$LOG" || true)
	send_raw "$@"
	log_wait "reject src=$CLIENT4 .*reason=$reason " $((before + 1))
	assert_sets_empty "$what"
	pass "$what: rejected, reason=$reason"
}

forge_as alice "$P/stale" --port 2222/tcp --time-offset -120
expect_reject stale-timestamp "timestamp 120 s old" "$P/stale"
grep -q 'reason=stale-timestamp detail="clock skew -12[01] s, window 30 s"' "$LOG" || fail "stale reject does not log the skew"
forge_as alice "$P/future" --port 2222/tcp --time-offset 120
expect_reject future-timestamp "timestamp 120 s ahead" "$P/future"
grep -q 'reason=future-timestamp detail="clock skew +1[12][09] s, window 30 s"' "$LOG" || fail "future reject does not log the skew"

PKI_DIR=$WORK/other forge_as mallory "$P/other-ca" --port 2222/tcp
expect_reject bad-certificate "certificate from another CA" "$P/other-ca"
grep -q 'subject="CN=mallory,O=SafeCloud" reason=bad-certificate' "$LOG" || fail "no subject in the CA reject"

forge_as bob "$P/revoked" --port 2222/tcp
expect_reject revoked "revoked certificate" "$P/revoked"
grep -q 'subject="CN=bob,O=SafeCloud" reason=revoked' "$LOG" || fail "no subject in the revoked reject"

forge_as alice "$P/not-allowed" --port 2224/tcp
expect_reject unauthorised "port the certificate does not allow" "$P/not-allowed"
forge_as alice "$P/not-protected" --port 9999/tcp
expect_reject unauthorised "port knockd does not protect" "$P/not-protected"
forge_as carol "$P/carol-2222" --port 2222/tcp
expect_reject unauthorised "port the access rule does not grant" "$P/carol-2222"

forge_as alice "$P/forged" --port 2222/tcp --sign-key "$WORK/pki/carol.key"
expect_reject bad-signature "signed with another key" "$P/forged"

# One valid packet, sent many times with one bit flipped: never accepted.
forge_as alice "$P/valid" --port 2222/tcp
len=$(stat -c %s "$P/valid")
rejects_before=$(log_count "reject src=$CLIENT4")
n=0
for byte in 0 1 3 4 5 6 7 8 20 39 40 41 60 86 100 200 300 400 $((len - 17)) $((len - 16)) $((len - 1)); do
	for bit in 0 5; do
		send_raw "$P/valid" --flip $((byte * 8 + bit))
		n=$((n + 1))
	done
done
# Each packet gets its own reject line (log_rejects_per_second = 0): exactly N.
log_wait "reject src=$CLIENT4" $((rejects_before + n))
sleep 0.3
[ "$(log_count "reject src=$CLIENT4")" -eq $((rejects_before + n)) ] ||
	fail "$n flipped packets gave $(($(log_count "reject src=$CLIENT4") - rejects_before)) reject lines"
grep -q "accept src=" "$LOG" && fail "a packet with a flipped bit was accepted"
assert_sets_empty "flipped bits"
for r in bad-magic bad-version malformed truncated decrypt-failed; do
	grep -q "reason=$r " "$LOG" || fail "no '$r' among the flipped-bit rejects"
done
pass "$n packets with one flipped bit (header, key, ciphertext, tag): all rejected"

expect_reject truncated "truncated to 3 bytes" "$P/valid" --truncate 3
expect_reject truncated "truncated to 100 bytes" "$P/valid" --truncate 100
expect_reject truncated "one byte short" "$P/valid" --truncate $((len - 1))
expect_reject oversized "ten bytes appended" "$P/valid" --append 10
before=$(grep -c "reason=oversized " "$LOG" || true)
in_client "$KNOCK_FORGE" garbage $SERVER4 $KNOCK_PORT 1400 --magic
log_wait "reason=oversized detail=\"1400 bytes\"" 1
in_client "$KNOCK_FORGE" garbage $SERVER4 $KNOCK_PORT 3000
log_wait "reason=oversized detail=\"3000 bytes\"" 1
pass "datagrams over 1200 bytes (1400, 3000 fragmented): rejected, reason=oversized"
in_client "$KNOCK_FORGE" garbage $SERVER4 $KNOCK_PORT 300
log_wait "reason=bad-magic" 2
in_client "$KNOCK_FORGE" garbage $SERVER4 $KNOCK_PORT 300 --magic
log_wait "reason=decrypt-failed" 2
in_client "$KNOCK_FORGE" garbage $SERVER4 $KNOCK_PORT 0
assert_sets_empty "garbage"
pass "garbage (random bytes, random bytes behind a valid header, empty): rejected"

# The untouched packet is good; sent again it is a replay, also after SIGHUP.
send_raw "$P/valid"
log_wait "accept src=$CLIENT4 .* tcp/2222"
can_connect $SERVER4 2222 || fail "the valid packet did not open the port"
pass "knockd still serves valid knocks after all that"
before=$(grep -c "reason=replay " "$LOG" || true)
send_raw "$P/valid"
log_wait "reason=replay " $((before + 1))
kill -HUP "$KNOCKD_PID"
log_wait "reloaded: .*replay cache kept (1 nonces)"
send_raw "$P/valid"
log_wait "reason=replay " $((before + 2))
[ "$(grep -c "accept src=" "$LOG")" -eq 1 ] || fail "a replay was accepted"
pass "a replayed packet is rejected, reason=replay, also after SIGHUP"

# Revocation applies on SIGHUP: revoke alice, reload, her fresh knock fails.
"$MAKE_PKI" revoke "$WORK/pki" alice
kill -HUP "$KNOCKD_PID"
log_wait "reloaded:" 2
forge_as alice "$P/after-revoke" --port 2222/tcp
before=$(grep -c "reason=revoked " "$LOG" || true)
send_raw "$P/after-revoke"
log_wait 'subject="CN=alice,O=SafeCloud" reason=revoked' 1
pass "SIGHUP loads a new CRL: a just-revoked certificate is refused"

kill -0 "$KNOCKD_PID" || fail "knockd died"
kill -USR1 "$KNOCKD_PID"
log_wait "status {"
grep -q '"accepted":1' "$WORK/status.json" || fail "status file: $(cat "$WORK/status.json")"
pass "SIGUSR1 writes a JSON status"
