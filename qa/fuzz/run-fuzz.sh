#!/bin/sh
# Runs a libFuzzer target for a bounded time: a fresh temporary directory is
# the first corpus (new inputs land there, not in the tree), the committed
# seeds the second. Shared by every fuzz target of the tree. libFuzzer exits non-zero on any finding (crash, leak,
# ASan or UBSan report, timeout), and so does this script.
#   run-fuzz.sh TARGET SECONDS SEED_DIR
set -eu
target=$(readlink -f "$1") seconds=$2 seeds=$(readlink -f "$3")
here=$(dirname "$(readlink -f "$0")")
work=$(mktemp -d "${TMPDIR:-/tmp}/fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
# libFuzzer's default error exit code, 77, means "skipped" to meson: use 1.
LSAN_OPTIONS="suppressions=$here/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}" \
"$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-error_exitcode=1 -timeout_exitcode=1 -artifact_prefix="$work/" "$work" "$seeds" || {
	status=1
	for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
		[ -e "$f" ] && echo "finding: $f: $(od -An -tx1 "$f" | head -c 600)" >&2
	done
	exit "$status"
}
