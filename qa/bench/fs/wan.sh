# Sourced by fs-bench: the WAN section. Four sites scfs-w1..scfs-w4 at 10 ms
# round trip from the host (qa/cluster/sites), a micro cluster in each, and
# each metadata operation's cost in round trips (its mean time over WAN_OPS
# operations divided by the round trip): first raw librados (the floor: one
# write to all clusters at once is one round trip), then the subject when it
# is rados-scfs. A local directory is on no WAN: that part says so.
WAN_RTT_MS=10

wan_section() {
	say ""
	say "fs-bench: WAN: four sites at ${WAN_RTT_MS} ms round trip (qa/cluster/sites)"
	if [ ! -x "$SITES" ]; then
		say "  MISSING: qa/cluster/sites is not in this tree (merge main); no WAN figures"
		return 0
	fi
	[ -x "$SITES_WAN_ROUTER" ] || { say "  MISSING: $SITES_WAN_ROUTER is not built"; return 0; }
	local sites=(scfs-w1 scfs-w2 scfs-w3 scfs-w4) s addr i=0 pids=()
	mkdir -p "$WORK/wan-sites" "$WORK/wan"
	SITES_UP=1
	"$SITES" up --dir "$WORK/wan-sites" --rtt "${WAN_RTT_MS}ms" "${sites[@]}" >"$WORK/wan-sites.out"
	while read -r s addr; do
		i=$((i + 1))
		"$MICRO_CEPH" start --dir "$WORK/wan" --pool scfs --netns "$s" --ip "$addr" "dc$i" \
			>"$WORK/wan-dc$i.log" 2>&1 &
		pids+=($!)
	done <"$WORK/wan-sites.out"
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || { cat "$WORK/wan-dc$((i + 1)).log" >&2; say "  could not start the WAN clusters"; return 1; }
	done
	"$RAW" --dir "$WORK/wan" --clusters "$FS_CLUSTERS" --pool scfs --mib 0 --files "$WAN_OPS" \
		--file-bytes "$FILE_BYTES" >"$WORK/wan-raw.out"
	printf '  %-48s %8s %12s\n' "operation ($WAN_OPS each)" "ms/op" "round trips"
	local phase sec n
	while read -r _ phase _ sec _ _ _ n; do
		wan_line "raw librados $phase (n, n-f, f+1, n clusters)" "$sec" "$n"
	done < <(grep '^raw [a-z]* seconds' "$WORK/wan-raw.out")
	if [ -n "$SUBJECT_DIR" ] || [ ! -x "$RADOS_SCFS" ]; then
		say "  MISSING: rados-scfs over the WAN: the subject is a local directory (rados-scfs not built"
		say "  or --dir given), which is on no WAN; its round trips cannot be measured here"
		return 0
	fi
	mkdir -p "$WORK/wan-scfs"
	fs_scfs_make_and_mount "$WORK/wan" "$WORK/wan-scfs"
	MOUNTS+=("$WORK/wan-scfs")
	local d=$WORK/wan-scfs/mnt/ops out op
	mkdir -p "$d"
	for op in create stat read rename mkdir rmdir unlink; do
		case $op in
		create) out=$("$IO" create "$d" "$WAN_OPS" "$FILE_BYTES") ;;
		rename)
			out=$("$IO" rename "$d" "$WAN_OPS")
			# back to f*: unlink below removes f*
			for ((i = 0; i < WAN_OPS; i++)); do mv "$(printf '%s/g%06d' "$d" $i)" "$(printf '%s/f%06d' "$d" $i)"; done ;;
		*) drop_caches; out=$("$IO" "$op" "$d" "$WAN_OPS") ;;
		esac
		wan_line "rados-scfs $op" "$(field "$out" seconds)" "$WAN_OPS"
	done
	say "  targets (printed, not asserted): a new small file's close <= 2 round trips, a stat of an"
	say "  uncached inode <= 1 (create above = create+write+close)."
}

wan_line() { # LABEL SECONDS COUNT
	awk -v l="$1" -v s="$2" -v n="$3" -v rtt="$WAN_RTT_MS" \
		'BEGIN { ms = s * 1000 / n; printf "  %-48s %8.1f %12.2f\n", l, ms, ms / rtt }'
}
