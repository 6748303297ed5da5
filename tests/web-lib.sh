# tests/web-lib.sh: what the tests of temabrevd's web side share (sourced
# after tests/lib.sh and tests/servers.sh): the daemon with its web
# address, requests with curl, page validation with tidy, and the
# headless Chromium smoke test. The test sets TEMABREVD and DB.

for tool in curl tidy; do
	command -v $tool >/dev/null 2>&1 ||
	    skip_all "$tool not installed (tools/deps)"
done
ART=${TB_ARTEFACTS:-$TB_BUILDDIR/tests/web-artefacts}

# dstart LOG [ENV...]: the daemon in the foreground (with ENV set); its
# URL base in WEB.
dstart() {
	dlog=$1; shift
	env "$@" "$TEMABREVD" -f --db "$DB" 2>"$dlog" &
	DPID=$!
	wait_for 20 grep -q "http: listening on" "$dlog" || return 1
	WEB="http://$(sed -n 's/.*http: listening on \(.*\)$/\1/p' "$dlog" |
	    tail -n 1)"
}
# dstop: SIGTERM; its exit status in DRC.
dstop() {
	kill -TERM "$DPID"
	wait "$DPID"
	DRC=$?
	DPID=
}
is_status() { [ "$(status "$1" "$2")" = "$3" ]; }
# req NAME CURL-ARGS...: body in $TMP/NAME.html, headers in $TMP/NAME.h,
# the status code in CODE, the seconds it took in SECS.
req() {
	rq=$1; shift
	out=$(curl -s -o "$TMP/$rq.html" -D "$TMP/$rq.h" \
	    -w '%{http_code} %{time_total}' --max-time 10 "$@")
	CODE=${out% *}
	SECS=${out#* }
}
# valid FILE: tidy finds neither errors nor warnings in the page.
valid() { tidy -q -e "$1" 2>"$TMP/tidy.out"; }
# browser NAME ARGS...: tests/web-browser.py ARGS... ART as the check
# NAME; returns 1 after a skip (no Chromium), so the caller's checks of
# what the browser did are left out.
browser() {
	bname=$1; shift
	"$PY" "$TB_SRCDIR/tests/web-browser.py" "$@" "$ART" \
	    > "$TMP/browser.out" 2>&1
	brc=$?
	if [ $brc -eq 77 ]; then
		ok "browser smoke test # SKIP $(tail -n 1 "$TMP/browser.out")"
		return 1
	fi
	check "$bname" test $brc -eq 0
	[ $brc -ne 0 ] && sed 's/^/# /' "$TMP/browser.out"
	return 0
}
