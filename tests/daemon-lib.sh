# tests/daemon-lib.sh: what the tests that run temabrevd share (sourced
# after tests/lib.sh): waiting with a bound, the SMTP capture server, the
# daemon in the foreground on a test clock, and edition checks. The test
# sets PY (python3 with aiosmtpd), TEMABREVD and DB.
PIDS=
DPID=
# Kills what the test started (its own pids only).
daemon_cleanup() {
	[ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null
	for p in $PIDS; do kill "$p" 2>/dev/null; done
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
count() { ls "$1" 2>/dev/null | wc -l | tr -d ' '; }
at_least() { [ "$(count "$1")" -ge "$2" ]; }
# smtpd_start NAME: tests/smtpd.py storing into $TMP/NAME; port in SPORT.
smtpd_start() {
	mkdir -p "$TMP/$1"
	"$PY" "$TB_SRCDIR/tests/smtpd.py" --dir "$TMP/$1" \
	    --port-file "$TMP/$1.port" --max-seconds 900 2>>"$TMP/smtpd.log" &
	PIDS="$PIDS $!"
	wait_for 30 test -s "$TMP/$1.port"
	SPORT=$(cat "$TMP/$1.port" 2>/dev/null)
}
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
