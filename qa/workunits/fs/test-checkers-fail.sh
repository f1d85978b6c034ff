#!/usr/bin/env bash
# The checkers can fail: fs-posix on a 2 MiB tmpfs (in a private mount
# namespace) reports the large-file case as FAIL naming ENOSPC and exits 1;
# fs-fsx whose file is corrupted between two phases names the byte and
# exits 1. Each must also pass where nothing is wrong.
#   test-checkers-fail.sh FS_POSIX FS_FSX
set -euo pipefail
posix=$1 fsx=$2
work=$(mktemp -d /tmp/scfs-checkers-XXXXXX)
trap 'umount "$work/small" 2>/dev/null || true; rm -rf "$work"' EXIT
fails=0
expect() { # NAME WANT_RC PATTERN COMMAND...
	local name=$1 want=$2 pattern=$3 rc=0
	shift 3
	"$@" >"$work/out" 2>&1 || rc=$?
	if [ "$rc" = "$want" ] && grep -q -- "$pattern" "$work/out"; then
		echo "ok: $name"
	else
		echo "FAIL: $name (exit $rc, want $want and a line matching '$pattern'):"
		tail -n 20 "$work/out"
		fails=$((fails + 1))
	fi
}
mkdir "$work/small" "$work/big"
expect "fs-posix reports ENOSPC on a 2 MiB file system" 1 \
	'^FAIL large_file_beyond_the_cache_reads_back: .*ENOSPC' \
	unshare -m sh -c "mount -t tmpfs -o size=2m scfs-small '$work/small' &&
		SCFS_POSIX_LARGE_MB=8 '$posix' '$work/small' large_file_beyond_the_cache_reads_back"
expect "fs-posix passes the same case with room" 0 '^1 passed, 0 failed' \
	env SCFS_POSIX_LARGE_MB=8 "$posix" "$work/big" large_file_beyond_the_cache_reads_back
expect "fs-posix refuses an unknown case name" 2 'no case matched' \
	"$posix" "$work/big" no_such_case
expect "fs-fsx names a byte corrupted between phases" 1 'byte 0x3e8 expected' \
	"$fsx" --ops 2000 --phases 2 --max-size 65536 --max-op 4096 \
	--remount "printf '\\377\\376' | dd of='$work/big/f' bs=1 seek=1000 conv=notrunc 2>/dev/null" \
	"$work/big/f"
expect "fs-fsx passes without the corruption" 0 'fs-fsx: ok' \
	"$fsx" --ops 2000 --phases 2 --max-size 65536 --max-op 4096 --remount true "$work/big/f"
echo "$fails failed"
[ "$fails" = 0 ]
