#!/bin/sh
# The README's second command: the whole test suite, as CI runs it.
# Installs the Debian dependencies (as root), then builds and runs
# `make check` three ways: a normal build, a build with
# --enable-sanitizers (ASan + UBSan, tests included), and `make distcheck`
# (a tarball that builds, installs under a prefix and passes its tests).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh tools/deps
./autogen.sh > /dev/null 2>&1
jobs=$(nproc)
pass=0
fail=0
summary() {
	# Count the TAP results the automake driver recorded.
	for f in $(find "$1" -name '*.trs'); do
		p=$(grep -c '^:test-result: PASS' "$f" || true)
		s=$(grep -c '^:test-result: SKIP' "$f" || true)
		x=$(grep -c -E '^:test-result: (FAIL|ERROR|XPASS)' "$f" || true)
		pass=$((pass + p + s)); fail=$((fail + x))
	done
}
stage() {
	name=$1 dir=$2; shift 2
	echo "=== $name"
	rm -rf "$dir"
	mkdir -p "$dir"
	(cd "$dir" && ../configure -q "$@" && make -j"$jobs" > /dev/null &&
	    make -j"$jobs" check) || status=1
	summary "$dir"
	if [ "${status:-0}" -ne 0 ]; then
		find "$dir/tests" -name '*.log' -exec sh -c \
		    'grep -l -E "^(not ok|ERROR)" "$1" >/dev/null && { echo "--- $1"; tail -40 "$1"; }' _ {} \; || true
	fi
}
status=0
stage "build and test" build-ci
stage "build and test with AddressSanitizer and UBSan" build-ci-san --enable-sanitizers
echo "=== make distcheck"
(cd build-ci && make -j"$jobs" distcheck > distcheck.log 2>&1) ||
    { tail -60 build-ci/distcheck.log; status=1; }
grep -E '^=+$|archives ready|is ready for distribution' build-ci/distcheck.log | tail -3 || true
echo "$pass passed, $fail failed"
[ "$status" -eq 0 ] && [ "$fail" -eq 0 ]
