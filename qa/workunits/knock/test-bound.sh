#!/bin/bash
# A knock is bound to the address it asks to open and to the server it was
# sent to, both signed. An on-path attacker who replays a captured knock
# from its own address first opens nothing for itself (the port opens for
# the signed address only, and the real client's copy is then a replay); a
# knock that leaves the address unsigned is refused; a knock made for another
# host sharing the server key is refused here.
. "$(dirname "$0")/lib.sh"
setup_all
P=$WORK/packets
mkdir -p "$P"

forge_as alice "$P/captured" --port 2222/tcp
send_raw "$P/captured" --from $OTHER4
log_wait "accept src=$OTHER4 subject=\"CN=alice,O=SafeCloud\" open=$CLIENT4 tcp/2222"
can_connect $SERVER4 2222 $OTHER4 && fail "the replayer's address got tcp/2222"
can_connect $SERVER4 2222 || fail "the signed address did not get tcp/2222"
set_elements | grep -q "$OTHER4" && fail "an element for the replayer: $(set_elements)"
send_raw "$P/captured"
log_wait "reject src=$CLIENT4 subject=\"-\" reason=replay detail=\"nonce already used\""
pass "a captured knock replayed from another address opens only the signed address"

forge_as alice "$P/unsigned" --port 2223/tcp --open source
send_raw "$P/unsigned" --from $OTHER4
log_wait "reject src=$OTHER4 subject=\"-\" reason=unauthorised detail=\"address to open not signed (allow_source_address is false)\""
can_connect $SERVER4 2223 $OTHER4 && fail "an unsigned-address knock opened tcp/2223"
pass "a knock without a signed address is refused (allow_source_address = false)"

forge_as alice "$P/elsewhere" --port 2223/tcp --dest 10.77.0.9
send_raw "$P/elsewhere"
log_wait "reject src=$CLIENT4 subject=\"-\" reason=wrong-destination detail=\"knock is for 10.77.0.9\""
can_connect $SERVER4 2223 && fail "a knock for another host opened tcp/2223 here"
pass "a knock made for another host is refused here"

knock_as carol $SERVER4 2224/tcp --pad
log_wait "accept src=$CLIENT4 subject=\"CN=carol,O=SafeCloud\" open=$CLIENT4 tcp/2224"
pass "a padded knock (--pad) is accepted"
