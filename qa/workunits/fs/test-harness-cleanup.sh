#!/usr/bin/env bash
# lib.sh leaves nothing behind: a workunit that fails after fs_setup, and one
# killed by SIGTERM in the middle of its work, each end with no mount, no
# mount daemon, no Ceph daemon of its clusters and no directory left.
#   test-harness-cleanup.sh     (environment as for the other workunits)
set -euo pipefail
lib=$(cd "$(dirname "$0")" && pwd)/lib.sh
out=$(mktemp -d /tmp/scfs-harness-XXXXXX)
trap 'rm -rf "$out"' EXIT
fails=0

child() { # HOW: fail | term
	bash -c '
		set -euo pipefail
		. "$1"
		fs_setup
		echo "$FS_WORK ${FS_MOUNT_PID:-}" >"$2/state"
		echo data >"$FS_DIR/file"
		if [ "$3" = term ]; then kill -TERM $$; sleep 30; fi
		false
		echo "not reached"' child "$lib" "$out" "$1" >"$out/log.$1" 2>&1
}

for how in fail term; do
	rc=0
	child "$how" || rc=$?
	read -r work pid <"$out/state" || { echo "FAIL: $how: fs_setup did not complete"; cat "$out/log.$how"; fails=$((fails + 1)); continue; }
	left=""
	[ "$rc" != 0 ] || left="$left exit-status-0"
	[ ! -e "$work" ] || left="$left directory:$work"
	grep -q -- "$work" /proc/mounts && left="$left mount"
	[ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null || left="$left mount-daemon:$pid"
	daemons=$(ps -eo pid=,args= | grep -F -- "$work" | grep -v grep || true)
	[ -z "$daemons" ] || left="$left daemons:$(echo "$daemons" | awk '{ print $1 }' | tr '\n' ,)"
	if [ -z "$left" ]; then
		echo "ok: a workunit that ends by '$how' (exit $rc) leaves nothing behind"
	else
		echo "FAIL: after '$how': left behind:$left"
		tail -n 20 "$out/log.$how"
		fails=$((fails + 1))
	fi
	rm -f "$out/state"
done
echo "$fails failed"
[ "$fails" = 0 ]
