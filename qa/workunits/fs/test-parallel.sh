#!/usr/bin/env bash
# Many operations at once on the harness's file system (rados-scfs runs
# them on its multi-threaded session loop, a lock per node): eight workers
# each create, write, hard-link, rename and unlink files in a directory of
# their own and in one directory they all share, while two large files are
# written and a third is read, all at the same time. Afterwards, and again
# after FS_REMOUNT, every file must hold its bytes, every name must be
# there exactly once (and no removed one), and the link counts must add up.
#   test-parallel.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
fs_setup
ref=$FS_WORK/parallel-ref
rm -rf "$ref"
mkdir -p "$ref" "$FS_DIR/shared"
WORKERS=8 FILES=40
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }

# The reference bytes, made locally first (sizes: inline, one chunk, two chunks).
for ((w = 0; w < WORKERS; w++)); do
	for ((i = 0; i < FILES; i++)); do
		case $((i % 4)) in
		0) size=100 ;; 1) size=4096 ;; 2) size=70000 ;; *) size=$((4 * 1048576 + 12345)) ;;
		esac
		head -c "$size" /dev/urandom >"$ref/w$w-$i"
	done
done
head -c $((64 * 1048576)) /dev/urandom >"$ref/big-read"
cp "$ref/big-read" "$FS_DIR/big-read"
bash -c "$FS_REMOUNT"

worker() {
	local w=$1 mine=$FS_DIR/w$1 i
	mkdir "$mine"
	for ((i = 0; i < FILES; i++)); do
		cp "$ref/w$w-$i" "$mine/f$i"
		cp "$ref/w$w-$i" "$FS_DIR/shared/t$w-$i"
		mv "$FS_DIR/shared/t$w-$i" "$FS_DIR/shared/s$w-$i"
		ln "$mine/f$i" "$mine/h$i"
		if ((i % 5 == 0)); then rm "$mine/h$i"; fi
		if ((i % 7 == 0)); then cp "$ref/w$w-$i" "$mine/gone$i" && rm "$mine/gone$i"; fi
	done
}
pids=()
for ((w = 0; w < WORKERS; w++)); do worker "$w" & pids+=($!); done
head -c $((96 * 1048576)) /dev/urandom | tee "$ref/big-a" >"$FS_DIR/big-a" & pids+=($!)
head -c $((96 * 1048576)) /dev/urandom | tee "$ref/big-b" >"$FS_DIR/big-b" & pids+=($!)
( cmp -s "$ref/big-read" "$FS_DIR/big-read" || { echo "FAIL: big-read differs while others write" >&2; exit 1; } ) & pids+=($!)
for p in "${pids[@]}"; do wait "$p" || bad "a worker failed (pid $p)"; done

check_all() { # WHEN
	local w i n
	for ((w = 0; w < WORKERS; w++)); do
		for ((i = 0; i < FILES; i++)); do
			cmp -s "$ref/w$w-$i" "$FS_DIR/w$w/f$i" || bad "$1: w$w/f$i differs"
			cmp -s "$ref/w$w-$i" "$FS_DIR/shared/s$w-$i" || bad "$1: shared/s$w-$i differs"
			n=$(stat -c %h "$FS_DIR/w$w/f$i")
			if ((i % 5 == 0)); then
				[ "$n" = 1 ] && [ ! -e "$FS_DIR/w$w/h$i" ] || bad "$1: w$w/f$i has $n links (1 expected)"
			else
				[ "$n" = 2 ] && cmp -s "$ref/w$w-$i" "$FS_DIR/w$w/h$i" || bad "$1: w$w/f$i has $n links (2 expected)"
			fi
		done
		n=$(ls "$FS_DIR/w$w" | grep -c '^gone' || true)
		[ "$n" = 0 ] || bad "$1: w$w keeps $n removed names"
		n=$(ls -a "$FS_DIR/w$w" | sort | uniq -d | wc -l)
		[ "$n" = 0 ] || bad "$1: w$w lists $n names twice"
	done
	n=$(ls "$FS_DIR/shared" | grep -c '^s' || true)
	[ "$n" = $((WORKERS * FILES)) ] || bad "$1: shared lists $n files ($((WORKERS * FILES)) expected)"
	n=$(ls "$FS_DIR/shared" | grep -c '^t' || true)
	[ "$n" = 0 ] || bad "$1: shared keeps $n names renamed away"
	for f in big-a big-b big-read; do cmp -s "$ref/$f" "$FS_DIR/$f" || bad "$1: $f differs"; done
}
check_all "at once"
bash -c "$FS_REMOUNT"
check_all "after a remount"
rm -rf "$ref"
[ $fail = 0 ] && echo "parallel: every file, name and link count as written" || exit 1
