#!/bin/sh
# Runs every command the README's ```sh blocks show, so the README cannot drift from the tool:
#   - build/gcc/... lines (with their \ continuation lines) and other plain commands run in a
#     scratch directory where build/gcc is the build under test and examples/, profiles/ are
#     the repository's; each must exit as documented: N where its comment says "exits N",
#     else 0;
#   - make lines: the target must exist (make -n; running the suite from the suite would
#     recurse);
#   - the apt-get install line is not run here (.ci/run runs it, as root or with sudo).
# Usage: readme_cmds.sh REPO BUILD_DIR.  Prints one line per command; the last line is
# "readme: N commands, all as documented" or the first failure; exit status 0 or 1.
set -u
# As a newcomer runs them: no test-harness environment.
unset DMACOH_DRIVER_DIR DMACOH_BIN DMACOH_OPTIONS
repo=$1
build=$2
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/build" && ln -s "$build" "$tmp/build/gcc" &&
	ln -s "$repo/examples" "$tmp/examples" && ln -s "$repo/profiles" "$tmp/profiles" || exit 1

awk '
/^```sh$/ { on = 1; next }
/^```/ { on = 0; next }
on {
	line = cur $0
	if (line ~ /\\$/) { sub(/\\$/, "", line); cur = line; next }
	cur = ""
	if (line ~ /^[ \t]*$/) next
	print line
}' "$repo/README.md" >"$tmp/cmds" || exit 1

n=0
while IFS= read -r cmd; do
	case $cmd in
	*apt-get*) continue ;;
	esac
	n=$((n + 1))
	want=0
	case $cmd in
	*"# "*"exits "[0-9]*) want=$(printf '%s\n' "$cmd" | sed 's/.*exits \([0-9]\).*/\1/') ;;
	esac
	case $cmd in
	make*)
		args=${cmd%%#*}
		# shellcheck disable=SC2086
		(cd "$repo" && make -n ${args#make} >/dev/null 2>&1)
		got=$?
		;;
	*)
		(cd "$tmp" && sh -c "$cmd" >"$tmp/out" 2>&1 </dev/null)
		got=$?
		;;
	esac
	if [ "$got" != "$want" ]; then
		echo "readme: '$cmd' exited $got, the README says $want"
		sed 's/^/    /' "$tmp/out" 2>/dev/null | tail -5
		exit 1
	fi
	echo "ok ($got): $cmd"
done <"$tmp/cmds"
echo "readme: $n commands, all as documented"
