#!/bin/sh
# Runs the test binary as N shards side by side (N = the machine's cores, or $DMACOH_TEST_JOBS)
# and prints their output one shard after the other, then one summary line as a single run
# prints it ("N passed, M failed"); exit 1 if any shard failed.  Tests are independent: each
# makes its own temporary files, so shards need no coordination.
# Usage: tests/shards.sh TEST_BIN [FILTER]
set -u
bin=$1
shift
n=${DMACOH_TEST_JOBS:-$(nproc 2>/dev/null || echo 1)}
[ "$n" -ge 1 ] 2>/dev/null || n=1
dir=$(mktemp -d "${TMPDIR:-/tmp}/dmacoh-shards-XXXXXX") || exit 2
trap 'rm -rf "$dir"' EXIT
i=1
while [ "$i" -lt "$n" ]; do
	"$bin" --shard "$i/$n" "$@" > "$dir/$i.log" 2>&1 &
	echo $! > "$dir/$i.pid"
	i=$((i + 1))
done
# Shard 0 runs in the foreground and shows its progress as it goes; the others follow it.
status=0
"$bin" --shard "0/$n" "$@" > "$dir/0.log" 2>&1 &
tail -n +1 -f --pid=$! "$dir/0.log" 2>/dev/null | grep -v '^[0-9]* passed, [0-9]* failed$'
wait $! || status=1
i=1
while [ "$i" -lt "$n" ]; do
	wait "$(cat "$dir/$i.pid")" || status=1
	i=$((i + 1))
done
passed=0
failed=0
i=0
while [ "$i" -lt "$n" ]; do
	# Everything but the shard's own summary line (shard 0's was shown as it ran).
	[ "$i" -eq 0 ] || grep -v '^[0-9]* passed, [0-9]* failed$' "$dir/$i.log"
	line=$(grep '^[0-9]* passed, [0-9]* failed$' "$dir/$i.log" | tail -n 1)
	if [ -z "$line" ]; then
		echo "shard $i/$n ended without its summary (crashed?)"
		status=1
	else
		passed=$((passed + ${line%% passed*}))
		f=${line#* passed, }
		failed=$((failed + ${f%% failed}))
	fi
	i=$((i + 1))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] || status=1
exit $status
