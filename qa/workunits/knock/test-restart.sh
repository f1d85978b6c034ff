#!/bin/bash
# A knock counts once across a restart too. knockd keeps its replay cache in
# state_file (directory 0700, file 0600, written atomically after every
# accepted knock and at stop), so a knock captured on the wire and replayed
# after knockd restarted -- or crashed -- is refused, logged, and opens
# nothing, while a fresh knock still opens. When the file is corrupt or gone,
# knocks with a timestamp before the start are refused instead; and when the
# cache cannot be saved (nor the old file removed), no knock opens anything.
. "$(dirname "$0")/lib.sh"
KNOCKD_ARGS=--debug
setup_all
P=$WORK/packets
mkdir -p "$P"

# Nonces in the state file: the snapshot's count field plus the journal
# records (40 bytes each) after the snapshot (72 bytes and 24 a nonce).
state_count() {
	n=$(od -An -tu4 --endian=big -j12 -N4 "$STATE" | tr -d ' ')
	size=$(stat -c %s "$STATE")
	echo $((n + (size - 72 - 24 * n) / 40))
}

# expect_replay WHAT FILE DETAIL: FILE is refused as a replay with DETAIL
# logged, and nothing opens.
expect_replay() {
	what=$1 file=$2 detail=$3
	before=$(log_count "reason=replay detail=\"$detail")
	send_raw "$file"
	log_wait "reject src=$CLIENT4 subject=\"-\" reason=replay detail=\"$detail" $((before + 1))
	assert_sets_empty "$what"
	can_connect $SERVER4 2222 && fail "$what: tcp/2222 is open"
	pass "$what: rejected, reason=replay, \"$(echo "$detail" | sed 's/\[0-9\]\*/N/')\""
}

# A fresh knock (made now) opens PORT.
fresh_knock_opens() {
	fresh_port=$1 what=$2
	accepts=$(log_count "accept src=")
	knock_as alice $SERVER4 "$fresh_port/tcp"
	log_wait "accept src=" $((accepts + 1))
	can_connect $SERVER4 "$fresh_port" || fail "$what: a fresh knock did not open tcp/$fresh_port"
	pass "$what: a fresh knock opens tcp/$fresh_port"
}

knockd_crash() {
	kill -KILL "$KNOCKD_PID"
	wait "$KNOCKD_PID" 2>/dev/null || true
	KNOCKD_PID=""
}

# The first start found no state: the directory is made 0700, the file 0600.
grep -q "replay cache: no state file $STATE (first start?)" "$LOG" || fail "no first-start line"
[ "$(stat -c %a "$WORK/state")" = 700 ] || fail "state directory mode $(stat -c %a "$WORK/state")"
[ "$(stat -c %a "$STATE")" = 600 ] || fail "state file mode $(stat -c %a "$STATE")"
[ "$(state_count)" = 0 ] || fail "a fresh state file holds $(state_count) nonces"
pass "the first start writes an empty state file (directory 0700, file 0600)"

# An eavesdropper's copy of a knock that is delivered once and opens the port;
# and a knock made before the restart but delivered only after it.
forge_as alice "$P/captured" --port 2222/tcp
forge_as alice "$P/late" --port 2223/tcp
send_raw "$P/captured"
log_wait "accept src=$CLIENT4 .* tcp/2222"
can_connect $SERVER4 2222 || fail "the captured knock did not open tcp/2222"
[ "$(state_count)" = 1 ] || fail "the accepted knock is not in the state file"
[ $(( ($(stat -c %s "$STATE") - 72) % 40 )) = 0 ] || fail "the knock was not appended as one journal record"
[ ! -e "$STATE.tmp" ] || fail "a temporary state file was left behind"
# The order: the nonce is synced to disk before the element is added (the
# accept line is written once the element is in). A reversed order fails here.
saved_line=$(grep -n "replay cache: nonce saved in $STATE (journal record 1)" "$LOG" | cut -d: -f1)
accept_line=$(grep -n "accept src=$CLIENT4 .* tcp/2222" "$LOG" | head -1 | cut -d: -f1)
[ -n "$saved_line" ] && [ -n "$accept_line" ] || fail "no save or accept line"
[ "$saved_line" -lt "$accept_line" ] || fail "the port opened (line $accept_line) before the nonce was saved (line $saved_line)"
pass "an accepted knock is appended to the journal and synced before its port opens"

knockd_stop
grep -q "stopped: .* replay cache saved" "$LOG" || fail "no save at stop"
knockd_start
log_wait "replay cache: 1 nonces loaded from $STATE"
assert_sets_empty "after the restart"
expect_replay "the captured knock replayed after a restart" "$P/captured" "nonce already used"
send_raw "$P/late"
log_wait "accept src=$CLIENT4 .* tcp/2223"
pass "a knock made before the restart but never used is accepted after it"
fresh_knock_opens 2222 "after a restart"

# A crash: the nonce was saved when the knock was accepted, not at stop.
forge_as alice "$P/before-crash" --port 2222/tcp
accepts=$(log_count "accept src=")
send_raw "$P/before-crash"
log_wait "accept src=" $((accepts + 1))
knockd_crash
knockd_start
log_wait "replay cache: [0-9]* nonces loaded from $STATE" 2
assert_sets_empty "after the crash and start"
expect_replay "a knock replayed after a crash (SIGKILL)" "$P/before-crash" "nonce already used"

# A corrupt state file: logged, moved aside, treated as absent. Knocks made
# before the start are refused, since nothing says they were not used.
forge_as alice "$P/before-corrupt" --port 2222/tcp
knockd_stop
sleep 1 # the start's second must come after the knocks' timestamps
printf '\377' | dd of="$STATE" bs=1 seek=45 conv=notrunc status=none
knockd_start
log_wait "replay cache: $STATE is corrupt (checksum mismatch), moved to $STATE.corrupt"
[ -f "$STATE.corrupt" ] || fail "the corrupt file was not kept for inspection"
[ "$(state_count)" = 0 ] || fail "the state file was not rewritten"
expect_replay "a used knock after a start with a corrupt state file" "$P/captured" \
	"timestamp [0-9]* s before daemon start, replay cache lost"
expect_replay "an unused knock older than a start with a corrupt state file" \
	"$P/before-corrupt" "timestamp [0-9]* s before daemon start, replay cache lost"
fresh_knock_opens 2223 "after a start with a corrupt state file"

# The state file deleted: the same.
knockd_stop
rm -f "$STATE"
sleep 1
knockd_start
log_wait "replay cache: no state file $STATE" 2
expect_replay "a used knock after a start without a state file" "$P/before-crash" \
	"timestamp [0-9]* s before daemon start, replay cache lost"
fresh_knock_opens 2222 "after a start without a state file"

# The cache can be neither saved nor removed (a read-only file system): a
# restart would trust a stale file, so knockd opens nothing.
knockd_stop
mkdir "$WORK/ro"
mount -t tmpfs -o size=1m,mode=0700 knock-test "$WORK/ro"
MOUNTS="$WORK/ro"
sed -i "s|state_file = .*|state_file = \"$WORK/ro/replay-cache\";|" "$WORK/knockd.conf"
STATE=$WORK/ro/replay-cache
knockd_start
knockd_stop
mount -o remount,ro "$WORK/ro"
knockd_start
log_wait "replay cache: 0 nonces loaded from $STATE"
log_wait "replay cache: cannot save $STATE (Read-only file system) nor remove it"
knock_as alice $SERVER4 2222/tcp
log_wait "reject src=$CLIENT4 subject=\"CN=alice,O=SafeCloud\" reason=internal-error detail=\"replay cache cannot be saved\""
assert_sets_empty "a knock that could not be saved"
can_connect $SERVER4 2222 && fail "a knock that could not be saved opened tcp/2222"
pass "a knock whose nonce cannot be saved opens nothing"
knockd_stop
umount "$WORK/ro"
MOUNTS=""
