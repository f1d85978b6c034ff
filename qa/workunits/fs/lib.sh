# Sourced by the file system workunits and qa/bench/fs-bench: gives them a
# mounted file system in $FS_DIR and takes it all down again on exit, also
# when a check fails or the test is interrupted.
#
# Two modes:
#   SCFS_TEST_DIR=/some/dir   no clusters, no mount: the tests run in a fresh
#                             directory under /some/dir (ext4, tmpfs, ... ) so
#                             they are proven on a local file system.
#   (unset)                   four micro Ceph clusters dc1..dc4 (memstore, one
#                             OSD each, a mgr) in /tmp/scfs-XXXXXX, a writer key
#                             (scfs-admin keygen), scfs-admin mkfs, and
#                             rados-scfs mounted with -f in the background;
#                             needs root and $RADOS_SCFS, $SCFS_ADMIN, $MICRO_CEPH.
#
# After fs_setup: FS_DIR (where to test), FS_MODE (local|rados-scfs),
# FS_REMOUNT (a shell command that unmounts and mounts again: run it between
# phases, e.g. fs-fsx --remount), FS_WORK (scratch directory) and, for a
# mount, FS_MOUNT_PID (the daemon, for /proc/PID/status VmHWM).
# Extra mount options: SCFS_MOUNT_OPTS (comma-separated, appended to -o).
#
# Executed rather than sourced, "lib.sh remount WORK" is FS_REMOUNT's body:
# it unmounts the mount of WORK, waits for its daemon to exit and mounts
# again with the command line saved in WORK/mount.cmd.

fs_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FS_CLUSTERS=dc1,dc2,dc3,dc4
FS_NAME=qa
FS_MOUNT_TIMEOUT=${SCFS_MOUNT_TIMEOUT:-60}

fs_log() { echo "fs-lib: $*" >&2; }

fs_die() {
	fs_log "$*"
	exit 1
}

# Whether MNT is a mount point now (per /proc/mounts).
fs_is_mounted() {
	awk -v m="$1" '$2 == m { found = 1 } END { exit !found }' /proc/mounts
}

# Starts the FUSE daemon whose command line (running in the foreground) is in
# WORK/mount.cmd, in the background; records its pid in WORK/mount.pid and
# waits until WORK/mnt is in /proc/mounts. Used for rados-scfs here and for
# s3fs and ceph-fuse by fs-bench.
fs_mount_start() {
	local work=$1 mnt=$1/mnt pid i prog
	prog=$(basename "$(awk '{ print $1; exit }' "$work/mount.cmd")")
	# A new session: a signal to the test's process group does not reach it,
	# only our cleanup does.
	# shellcheck disable=SC2046
	setsid bash -c 'exec "$@"' "$prog" $(cat "$work/mount.cmd") \
		>>"$work/mount.log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$work/mount.pid"
	for ((i = 0; i < FS_MOUNT_TIMEOUT * 10; i++)); do
		fs_is_mounted "$mnt" && return 0
		if ! kill -0 "$pid" 2>/dev/null; then
			fs_log "$prog exited before mounting $mnt; its log:"
			tail -n 20 "$work/mount.log" >&2
			return 1
		fi
		sleep 0.1
	done
	fs_log "$prog did not mount $mnt within ${FS_MOUNT_TIMEOUT}s; its log:"
	tail -n 20 "$work/mount.log" >&2
	return 1
}

# Unmounts WORK/mnt and waits for its daemon to exit (TERM, then KILL, by pid).
fs_mount_stop() {
	local work=$1 mnt=$1/mnt pid i
	pid=$(cat "$work/mount.pid" 2>/dev/null || true)
	if fs_is_mounted "$mnt"; then
		fusermount3 -u "$mnt" 2>>"$work/mount.log" || umount -l "$mnt" 2>>"$work/mount.log" ||
			fusermount3 -uz "$mnt" 2>>"$work/mount.log" || true
	fi
	[[ "$pid" =~ ^[0-9]+$ ]] || return 0
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		fs_log "mount daemon $pid still running 10 s after unmount: TERM"
		tail -n 5 "$work/mount.log" >&2
		kill -TERM "$pid" 2>/dev/null || true
		sleep 2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$work/mount.pid"
}

fs_cleanup() {
	local status=$?
	trap - EXIT
	if [ "${FS_MODE:-}" = rados-scfs ] && [ -n "${FS_WORK:-}" ]; then
		fs_mount_stop "$FS_WORK"
		if [ "$status" -ne 0 ] && [ -s "$FS_WORK/mount.log" ]; then
			echo "---- rados-scfs log (last 30 lines) ----" >&2
			tail -n 30 "$FS_WORK/mount.log" >&2
		fi
		"$MICRO_CEPH" stop --dir "$FS_WORK" >/dev/null 2>&1 || true
	fi
	[ -z "${FS_WORK:-}" ] || rm -rf "$FS_WORK"
	exit "$status"
}

fs_setup_local() {
	[ -d "$SCFS_TEST_DIR" ] || mkdir -p "$SCFS_TEST_DIR" ||
		fs_die "SCFS_TEST_DIR=$SCFS_TEST_DIR: cannot make it"
	FS_MODE=local
	FS_WORK=$(mktemp -d "$SCFS_TEST_DIR/scfs-fs.XXXXXX")
	chmod 0755 "$FS_WORK"
	FS_DIR=$FS_WORK
	FS_MOUNT_PID=""
	# No mount to remount: write back and forget the kernel's cached pages.
	if [ "$(id -u)" = 0 ]; then
		FS_REMOUNT="sync && echo 3 > /proc/sys/vm/drop_caches"
	else
		FS_REMOUNT="sync"
	fi
	fs_log "local mode: testing in $FS_DIR ($(stat -f -c %T "$FS_DIR"))"
}

# Makes a file system over the clusters whose configuration is in CONF_DIR
# (keygen, mkfs) and mounts it on WORK/mnt with its cache in WORK/cache.
fs_scfs_make_and_mount() {
	local conf_dir=$1 work=$2
	mkdir -p "$work/mnt" "$work/cache"
	"$SCFS_ADMIN" keygen "$work/writer.pem" >/dev/null ||
		fs_die "scfs-admin keygen failed"
	local common=(--conf-dir "$conf_dir" --clusters "$FS_CLUSTERS" --fs "$FS_NAME")
	"$SCFS_ADMIN" mkfs "${common[@]}" -k "$work/writer.pem" >"$work/mkfs.log" 2>&1 ||
		{ cat "$work/mkfs.log" >&2; fs_die "scfs-admin mkfs failed"; }
	# The cache is smaller than the large-file cases (1 GiB): they must
	# stream through it. allow_other: the permission cases act as nobody.
	local opts="allow_other,cache_dir=$work/cache,cache_size=${SCFS_CACHE_SIZE:-256M}"
	[ -z "${SCFS_MOUNT_OPTS:-}" ] || opts="$opts,$SCFS_MOUNT_OPTS"
	echo "$RADOS_SCFS ${common[*]} -k $work/writer.pem -o $opts -f $work/mnt" \
		>"$work/mount.cmd"
	fs_mount_start "$work"
}

fs_setup_mount() {
	[ "$(id -u)" = 0 ] || fs_die "needs root (micro clusters, FUSE with allow_other)"
	: "${RADOS_SCFS:?RADOS_SCFS: the rados-scfs program}" "${SCFS_ADMIN:?SCFS_ADMIN: scfs-admin}"
	: "${MICRO_CEPH:?MICRO_CEPH: qa/cluster/micro-ceph}"
	FS_MODE=rados-scfs
	FS_WORK=$(mktemp -d /tmp/scfs-XXXXXX)
	chmod 0755 "$FS_WORK"
	# shellcheck disable=SC2086
	# With a mgr, as real clusters have: without one Pacific reports no
	# space (rados_cluster_stat is all zeros), and statfs would have nothing.
	"$MICRO_CEPH" start --dir "$FS_WORK" --mgr --pool scfs ${FS_CLUSTERS//,/ } >"$FS_WORK/clusters.log" 2>&1 ||
		{ cat "$FS_WORK/clusters.log" >&2; fs_die "micro-ceph could not start $FS_CLUSTERS"; }
	fs_scfs_make_and_mount "$FS_WORK" "$FS_WORK" || exit 1
	FS_DIR=$FS_WORK/mnt
	FS_MOUNT_PID=$(cat "$FS_WORK/mount.pid")
	FS_REMOUNT="bash $fs_lib_dir/lib.sh remount $FS_WORK"
	fs_log "rados-scfs mounted on $FS_DIR over $FS_CLUSTERS (pid $FS_MOUNT_PID)"
}

fs_setup() {
	trap fs_cleanup EXIT
	trap 'exit 130' INT TERM
	if [ -n "${SCFS_TEST_DIR:-}" ]; then
		fs_setup_local
	else
		fs_setup_mount
	fi
	export FS_DIR FS_MODE FS_REMOUNT FS_WORK FS_MOUNT_PID
}

# "bash lib.sh remount WORK": the body of FS_REMOUNT in rados-scfs mode.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	[ "${1:-}" = remount ] && [ -d "${2:-}" ] || fs_die "usage: lib.sh remount WORK"
	fs_mount_stop "$2"
	fs_is_mounted "$2/mnt" && fs_die "$2/mnt still mounted after unmount"
	fs_mount_start "$2"
fi
