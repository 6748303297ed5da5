# tests/daemon-lib.sh: what the tests that run temabrevd share (sourced
# after tests/lib.sh and tests/servers.sh): the daemon in the foreground
# on a test clock, and edition checks. The test sets TEMABREVD and DB.

count() { ls "$1" 2>/dev/null | wc -l | tr -d ' '; }
at_least() { [ "$(count "$1")" -ge "$2" ]; }
# Stockholm wall time to Unix seconds.
epoch() { TZ=Europe/Stockholm date -d "$1" +%s; }
# dstart LOG [NOW]: the daemon in the foreground, its pid in DPID; with
# NOW, on a clock that starts at NOW and runs (TEMABREV_NOW=@NOW).
dstart() {
	if [ -n "${2:-}" ]; then
		TEMABREV_NOW="@$2" "$TEMABREVD" -f --db "$DB" 2>"$1" &
	else
		"$TEMABREVD" -f --db "$DB" 2>"$1" &
	fi
	DPID=$!
	wait_for 20 grep -q "started on" "$1"
}
# dstop: SIGTERM; the exit status in DRC, the milliseconds it took to
# exit in STOP_MS.
dstop() {
	t0=$(date +%s%N)
	kill -TERM "$DPID"
	wait "$DPID"
	DRC=$?
	STOP_MS=$((($(date +%s%N) - t0) / 1000000))
	DPID=
}
alive() { kill -0 "$DPID" 2>/dev/null; }
# done_sent ID N: edition ID is done with N sent.
done_sent() {
	tb edition show "$1" --json > "$TMP/es.json" 2>/dev/null &&
	    "$PY" -c 'import json, sys
e = json.loads(open(sys.argv[1]).readline())
sys.exit(0 if e["status"] == "done" and e["counts"]["sent"] == int(sys.argv[2])
    else 1)' "$TMP/es.json" "$2"
}
