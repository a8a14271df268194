#!/bin/sh
# `make demo`'s tutorial part: the echo device (an out-of-tree device model), its driver and
# the C07 twin, driven by the Windows-style test application, on every built-in platform.
# Usage: demo.sh BUILD_DIR.  Exit status 1 if the driver is not clean or the twin not caught.
b=${1:-build/gcc}
t=$b/tutorial
fail=0
echo
echo "Tutorial (docs/devices/writing-a-device.md): device model echo.so, driver echo_drv.so,"
echo "application echo_app.so -- all three built like out-of-tree code"
for p in $("$b/dmacoh" list platforms | cut -d' ' -f1); do
	for d in echo_drv echo_drv-bug; do
		out=$("$b/dmacoh" run --device-model "$t/echo.so" --driver "$t/$d.so" \
			--app "$t/echo_app.so" --platform "$p" --quiet --deterministic 2>/dev/null)
		rc=$?
		app=$(printf '%s\n' "$out" | grep '^echo_app: .* frames' | sed 's/^echo_app: //')
		found=$(printf '%s\n' "$out" | grep '^  findings' | sed 's/^  findings *//')
		case $d:$rc:$found in
		echo_drv:0:none) verdict=clean ;;
		echo_drv-bug:1:C07\ x*) case $found in *,*) verdict=WRONG; fail=1 ;; *) verdict=caught ;; esac ;;
		*) verdict=WRONG; fail=1 ;;
		esac
		printf '  %-22s %-13s %-7s %-18s findings: %s\n' "$p" "$d" "$verdict" "$app" "$found"
	done
done
exit $fail
