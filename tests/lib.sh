# tests/lib.sh: a tiny TAP producer for the shell tests, sourced by them.
# Each check prints "ok N - name" or "not ok N - name" with the reason.
set -u
TB_BUILDDIR=${TB_BUILDDIR:-$(pwd)}
TB_SRCDIR=${TB_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
TEMABREV="$TB_BUILDDIR/src/temabrev"
tap_n=0
tap_failed=0
TMP=$(mktemp -d /tmp/tbsh.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
# No configuration file of the host may leak into a test.
export TEMABREV_CONFIG=/dev/null
unset TEMABREV_DB

ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $1"; }
not_ok() {
	tap_n=$((tap_n + 1)); tap_failed=$((tap_failed + 1))
	echo "not ok $tap_n - $1"
	shift
	for line in "$@"; do echo "# $line"; done
}
# check NAME CMD...: passes when CMD succeeds.
check() {
	name=$1; shift
	if "$@" >"$TMP/.out" 2>&1; then ok "$name"
	else not_ok "$name" "$(head -c 2000 "$TMP/.out")"; fi
}
# run EXPECTED_STATUS CMD...: runs CMD, keeping stdout in $TMP/out,
# stderr in $TMP/err; returns 0 when the status matches.
run() {
	want=$1; shift
	"$@" >"$TMP/out" 2>"$TMP/err"
	got=$?
	if [ "$got" -ne "$want" ]; then
		echo "status $got, expected $want: $*" >&2
		sed 's/^/  stderr: /' "$TMP/err" >&2
		return 1
	fi
	return 0
}
# wait_for SECONDS CMD...: CMD until it succeeds, five tries a second.
wait_for() {
	wf_n=$(($1 * 5)); shift
	wf_i=0
	while [ $wf_i -lt $wf_n ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
		wf_i=$((wf_i + 1))
	done
	return 1
}
tb() { "$TEMABREV" --db "$DB" "$@"; }
has() { grep -qF -- "$1" "$2"; }
done_testing() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
}
