#!/bin/sh
# The new twins' seed statistics (issue 17, "Must show"): for each twin of
# examples/drivers/mpdpc.c, under `dmacoh run --schedule P` with P random and pct, on 2 and 4
# processors, over schedule seeds 1..SEEDS (default 100): on how many seeds its rule was
# reported, the first seed that caught it, and on how many seeds the mistake also did harm in
# that run (wrong data, a hung or failed IRP: R01-R03).  The S03 twin runs with
# --deferred-grant (the only mode in which its mistake can show).  Buffers below 4 GiB
# (zone=dma32), so the 32-bit device's transfers are not bounced by the HAL.  Deterministic:
# seeded runs only.
# Usage: seed_stats.sh DMACOH DRIVER_DIR   (WORKLOAD and SEEDS change the sweep)
bin=$1
drvdir=$2
seeds=${SEEDS:-100}
workload=${WORKLOAD:-count=8,outstanding=2,zone=dma32}
out=$(mktemp)
printf '%-16s %-7s %-5s %-10s %-11s %s\n' twin policy cpus caught first-seed harmed
for twin in mpdpc-bug-C01 mpdpc-bug-S01 mpdpc-bug-S03; do
	rule=${twin##*-bug-}
	extra=
	[ "$rule" = S03 ] && extra=--deferred-grant
	for p in random pct; do
		for c in 2 4; do
			s=1
			caught=0
			harmed=0
			first=-
			while [ "$s" -le "$seeds" ]; do
				"$bin" run --driver "$drvdir/$twin.so" --platform noncoherent \
					--processors $c --schedule $p --schedule-seed $s --deterministic \
					--quiet --workload "$workload" $extra >"$out" 2>&1
				if grep -q "^  findings .*$rule x" "$out"; then
					caught=$((caught + 1))
					[ "$first" = - ] && first=$s
				fi
				grep -q "^  findings .*R0[123] x" "$out" && harmed=$((harmed + 1))
				s=$((s + 1))
			done
			printf '%-16s %-7s %-5s %-10s %-11s %s\n' $twin $p $c "$caught/$seeds" $first \
				"$harmed/$seeds"
		done
	done
done
rm -f "$out"
