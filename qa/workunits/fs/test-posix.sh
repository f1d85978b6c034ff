#!/usr/bin/env bash
# The POSIX suite on the harness's file system (lib.sh: rados-scfs on four
# micro clusters, or a local directory with SCFS_TEST_DIR). As root, the
# permission cases act as nobody in forked children; with --as-nobody the
# whole suite runs as nobody:nogroup (the cases that need root to set their
# scene say "skip ...: needs root"). One line a case; fails if any case fails.
#   test-posix.sh [--as-nobody] FS_POSIX [CASE...]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
as_nobody=0
if [ "${1:-}" = --as-nobody ]; then as_nobody=1; shift; fi
posix=${1:?usage: test-posix.sh [--as-nobody] FS_POSIX [CASE...]}
shift
fs_setup
if [ $as_nobody = 1 ]; then
	[ "$(id -u)" = 0 ] || fs_die "--as-nobody needs root to change user"
	mkdir "$FS_DIR/nobody"
	chown 65534:65534 "$FS_DIR/nobody"
	setpriv --reuid 65534 --regid 65534 --clear-groups -- "$posix" "$FS_DIR/nobody" "$@"
else
	"$posix" "$FS_DIR" "$@"
fi
