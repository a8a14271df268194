#!/bin/sh
# make sched-sweep: every correct example driver (the modules in DRIVER_DIR without -bug- in
# their name) under `dmacoh run --schedule` on 1, 2 and 4 processors, each policy, seeds
# 1..SEEDS (default 20); every run must be clean (exit 0).  A driver whose device the default
# platform lacks (exit 2) runs on arm-soc.  mpdpc (whose DPC, on another processor, starts
# the next request) runs with 4 requests outstanding, so its device queue is never empty.
# The twins' seed counts: tests/seed_stats.sh.  Usage: sched_sweep.sh DMACOH DRIVER_DIR
bin=$1
drvdir=$2
seeds=${SEEDS:-20}
count=${COUNT:-20}
runs=0
failed=0
out=$(mktemp)
for so in "$drvdir"/*.so; do
	d=$(basename "$so" .so)
	case $d in *-bug-*) continue ;; esac
	plat=noncoherent
	"$bin" run --driver "$so" --platform $plat --quiet --deterministic \
		--workload count=1 >"$out" 2>&1
	[ $? -eq 2 ] && plat=arm-soc
	wl=
	case $d in mpdpc) wl=,outstanding=4 ;; esac
	for c in 1 2 4; do
		for p in random round-robin pct; do
			s=1
			while [ "$s" -le "$seeds" ]; do
				if ! "$bin" run --driver "$so" --platform $plat --processors $c \
					--schedule $p --schedule-seed $s --quiet --deterministic \
					--workload count="$count$wl" >"$out" 2>&1; then
					echo "FAIL: $d on $plat, $c processors, --schedule $p --schedule-seed $s"
					tail -n 5 "$out"
					failed=$((failed + 1))
				fi
				runs=$((runs + 1))
				s=$((s + 1))
			done
		done
	done
	echo "$d ($plat): done"
done
rm -f "$out"
echo "sched-sweep: $runs runs, $failed failed"
[ "$failed" -eq 0 ]
