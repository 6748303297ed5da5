#!/bin/sh
# End-to-end tests of the temabrev CLI: the built binary on temporary
# databases, good input and bad (malformed CSV, header-injection names,
# over-long addresses, a database from the future, an unwritable path).
. "${TB_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

DB="$TMP/t.db"
SQLITE3=${TB_SQLITE3:-sqlite3}
PY=${TB_PYTHON3:-/usr/bin/python3}
CR=$(printf '\r')

check "--version" run 0 "$TEMABREV" --version
check "--help lists the commands" sh -c "'$TEMABREV' --help | grep -q 'sub '"
check "no command is a usage error (64)" run 64 "$TEMABREV"
check "unknown command is a usage error (64)" run 64 "$TEMABREV" frobnicate
for cmd in "theme add" "theme edit" "theme list" "theme show" "theme rm" \
    "sub add" "sub rm" "sub list" "sub show" "sub import" "sub export" \
    "sub forget" "suppress add" "suppress list" "suppress rm" "backup"; do
	# shellcheck disable=SC2086
	check "$cmd --help" sh -c "'$TEMABREV' --db '$TMP/nohelp.db' $cmd --help | grep -q usage"
done
check "--help creates no database" test ! -e "$TMP/nohelp.db"

# ---- themes ----
check "theme add" run 0 tb theme add barnets-ratt --name "Barnets rätt" \
    --description "Innovation och samverkan för barnets rätt"
check "theme add (en)" run 0 tb theme add digital-inkludering \
    --name "Digital inkludering" --lang en
check "theme add twice refused (65)" run 65 tb theme add barnets-ratt --name X
check "duplicate message names the theme" has "barnets-ratt" "$TMP/err"
check "bad slug refused" run 65 tb theme add "Barnets_Rätt" --name X
check "one-letter slug refused" run 65 tb theme add b --name X
check "reserved slug refused" run 65 tb theme add unsubscribe --name X
check "reserved slug message" has "reserved" "$TMP/err"
check "theme name with CR/LF refused" run 65 tb theme add ok-slug \
    --name "Nyheter${CR}
Bcc: victim@example.org"
check "bad language refused" run 65 tb theme add ok-slug --name X --lang de
check "theme add without --name is usage" run 64 tb theme add ok-slug
check "theme edit" run 0 tb theme edit digital-inkludering --lang sv \
    --description "Digital inkludering för alla"
check "theme edit unknown" run 65 tb theme edit nope --name X
check "theme list" run 0 tb theme list
check "theme list shows names" has "Barnets rätt" "$TMP/out"
check "theme show" run 0 tb theme show digital-inkludering
check "theme show shows the edit" has "Digital inkludering för alla" "$TMP/out"
check "theme show unknown (65)" run 65 tb theme show nope
check "theme list --json" run 0 tb theme list --json
check "theme JSON has the keys" "$PY" -c '
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
assert len(lines) == 2, lines
for l in lines:
    o = json.loads(l)
    for k in ("slug", "name", "description", "lang", "counts"):
        assert k in o, k
    assert set(o["counts"]) >= {"active", "pending", "unsubscribed", "bounced"}
assert json.loads(lines[0])["name"] == "Barnets rätt"
' "$TMP/out"

# ---- subscribers ----
check "sub add" run 0 tb sub add anna@example.org --name "Anna Svensson" \
    --theme barnets-ratt,digital-inkludering
check "sub add IDN" run 0 tb sub add "Kalle@Räksmörgås.se" --name "Kalle Åberg" \
    --theme barnets-ratt
check "same person, other case: not stored twice" run 0 tb sub add \
    kalle@xn--rksmrgs-5wao1o.se --theme barnets-ratt
check "... and says so" has "already active" "$TMP/out"
check "header-injection name refused (65)" run 65 tb sub add bo@example.org \
    --name "Bo${CR}
Bcc: victim@example.org" --theme barnets-ratt
check "... with a clear message" has "line break" "$TMP/err"
check "... and nothing stored" run 65 tb sub show bo@example.org
long=$(printf 'a%.0s' $(seq 1 65))
check "over-long local part refused" run 65 tb sub add "$long@example.org" \
    --theme barnets-ratt
check "... message names the limit" has "64" "$TMP/err"
dom=$(printf 'd%.0s' $(seq 1 62))
check "over-long address refused" run 65 tb sub add \
    "x@$dom.$dom.$dom.$dom.se" --theme barnets-ratt
check "address without @ refused" run 65 tb sub add nobody --theme barnets-ratt
check "unknown theme refused" run 65 tb sub add bo@example.org --theme nope
check "sub show" run 0 tb sub show KALLE@räksmörgås.se
check "sub show keeps the first spelling" has "Kalle@Räksmörgås.se" "$TMP/out"
check "sub list --json" run 0 tb sub list --json
check "subscriber JSON has the keys" "$PY" -c '
import json, sys
subs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
assert len(subs) == 2, subs
a = subs[0]
for k in ("email", "name", "created", "themes"):
    assert k in a, k
assert a["email"] == "anna@example.org"
assert {t["slug"] for t in a["themes"]} == {"barnets-ratt", "digital-inkludering"}
for t in a["themes"]:
    assert t["status"] == "active" and t["since"].endswith("Z") and len(t["since"]) == 20
' "$TMP/out"
check "sub rm one theme" run 0 tb sub rm anna@example.org --theme digital-inkludering
check "sub list --status unsubscribed" run 0 tb sub list --status unsubscribed
check "... lists Anna" has "anna@example.org" "$TMP/out"
check "sub list --theme --status active" run 0 tb sub list --theme digital-inkludering --status active
check "... is empty" test ! -s "$TMP/out"
check "bad status word is usage" run 64 tb sub list --status gone
check "sub add re-activates" run 0 tb sub add anna@example.org --theme digital-inkludering
check "... and says so" has "re-activated" "$TMP/out"
check "sub rm unknown (65)" run 65 tb sub rm nobody@example.org
check "theme rm refused with active subscribers" run 65 tb theme rm digital-inkludering
check "... names the count" has "active subscribers" "$TMP/err"
check "theme rm --force" run 0 tb theme rm digital-inkludering --force
check "theme is gone" run 65 tb theme show digital-inkludering
check "theme add back" run 0 tb theme add digital-inkludering --name "Digital inkludering"

# ---- CSV import ----
cat > "$TMP/bad.csv" <<CSV
email,name,themes
ok1@example.org,Första Raden,barnets-ratt
not-an-address,Ingen,barnets-ratt
ok2@example.org,"Citat ""med"" komma, och radbrytning är fel
här",barnets-ratt
ok3@example.org,Okänt Tema,finns-inte
ok4@example.org,Inget Tema,
ok5@example.org,"Trasig "citering",barnets-ratt
ok6@example.org,"Sista Raden",barnets-ratt;digital-inkludering
CSV
check "import with bad rows exits 65" run 65 tb sub import "$TMP/bad.csv"
check "... reports FILE:LINE for the bad address" has "bad.csv:3: not-an-address: address has no @" "$TMP/err"
check "... reports the multi-line name by its first line" has "bad.csv:4: ok2@example.org: name contains a line break" "$TMP/err"
check "... reports the unknown theme" has "bad.csv:6: unknown theme finns-inte" "$TMP/err"
check "... reports the row without theme" has "bad.csv:7: no theme" "$TMP/err"
check "... reports the malformed quoting" has "bad.csv:8: malformed quoting" "$TMP/err"
check "... summary counts" has "2 added, 0 updated, 0 skipped, 5 refused" "$TMP/out"
check "... good rows before and after are in" sh -c \
    "'$TEMABREV' --db '$DB' sub show ok1@example.org && '$TEMABREV' --db '$DB' sub show ok6@example.org"
check "importing again changes nothing" run 65 tb sub import "$TMP/bad.csv"
check "... summary" has "0 added, 0 updated, 2 skipped, 5 refused" "$TMP/out"
check "import of a missing file (66)" run 66 tb sub import "$TMP/none.csv"
printf 'name,themes\nX,barnets-ratt\n' > "$TMP/noemail.csv"
check "import without email column (65)" run 65 tb sub import "$TMP/noemail.csv"
check "... says so" has "no email column" "$TMP/err"
printf '\357\273\277email,name,themes\r\nbom@example.org,"Åsa, BOM",barnets-ratt\r\n' > "$TMP/bom.csv"
check "import with BOM and CRLF" run 0 tb sub import "$TMP/bom.csv" --theme digital-inkludering
check "... both themes" sh -c "'$TEMABREV' --db '$DB' sub show bom@example.org | grep -c active | grep -qx 2"

# ---- export / import round trip ----
check "export" run 0 tb sub export
cp "$TMP/out" "$TMP/export.csv"
check "export has the header" sh -c "head -1 '$TMP/export.csv' | grep -q '^email,name,themes'"
check "import the export into an empty database" run 0 "$TEMABREV" --db "$TMP/copy.db" \
    theme add barnets-ratt --name A
run 0 "$TEMABREV" --db "$TMP/copy.db" theme add digital-inkludering --name B
check "... import is clean" run 0 "$TEMABREV" --db "$TMP/copy.db" sub import "$TMP/export.csv"
check "... export again is identical" sh -c \
    "'$TEMABREV' --db '$TMP/copy.db' sub export | cmp - '$TMP/export.csv'"
check "export --all has status" run 0 tb sub export --all
check "... with the unsubscribed row" has "barnets-ratt,active" "$TMP/out"
check "export --theme" run 0 tb sub export --theme digital-inkludering
check "export --spreadsheet-safe" run 0 tb sub add calc@example.org \
    --name "=HYPERLINK(\"http://x.example\")" --theme barnets-ratt
run 0 tb sub export --spreadsheet-safe
check "... neutralises the formula" has "\"'=HYPERLINK(" "$TMP/out"

# ---- suppression and forget ----
check "suppress add" run 0 tb suppress add ok1@example.org --reason "bad" 
check "suppress list shows it" sh -c "'$TEMABREV' --db '$DB' suppress list | grep -q ok1@example.org"
check "suppressed address unsubscribed" sh -c "'$TEMABREV' --db '$DB' sub show ok1@example.org | grep -q unsubscribed"
check "sub add of a suppressed address refused" run 65 tb sub add ok1@example.org --theme barnets-ratt
check "... unless --force" run 0 tb sub add ok1@example.org --theme barnets-ratt --force
check "suppress rm" run 0 tb suppress rm ok1@example.org
check "suppress rm again (65)" run 65 tb suppress rm ok1@example.org
check "sub forget" run 0 tb sub forget anna@example.org
check "forgotten subscriber is gone" run 65 tb sub show anna@example.org
check "suppress list shows only a hash" sh -c "'$TEMABREV' --db '$DB' suppress list --json | grep -q '\"email\":null'"
check "no trace of the address in the database file" sh -c \
    "! grep -q 'anna@example.org' '$DB' && ! grep -q 'Anna Svensson' '$DB'"
printf 'email,name,themes\nAnna@Example.org,Anna Svensson,barnets-ratt\n' > "$TMP/back.csv"
check "import does not re-add a forgotten address" run 0 tb sub import "$TMP/back.csv"
check "... it is skipped" has "0 added, 0 updated, 1 skipped, 0 refused" "$TMP/out"

# ---- secret, backup, database location ----
check "secret file is 0600 next to the database" sh -c \
    "[ \"\$(stat -c %a '$TMP/secret')\" = 600 ]"
check "backup" run 0 tb backup "$TMP/backup.db"
check "backup opens and lists the themes" sh -c \
    "'$TEMABREV' --db '$TMP/backup.db' theme list | grep -q barnets-ratt"
check "backup to an unwritable place fails" run 73 tb backup /nonexistent-dir/b.db
XDG_DATA_HOME="$TMP/xdg"; export XDG_DATA_HOME
check "default database under XDG_DATA_HOME" run 0 "$TEMABREV" theme list
check "... was created with its directory" test -f "$TMP/xdg/temabrev/temabrev.db"
TEMABREV_DB="$TMP/env.db"; export TEMABREV_DB
check "TEMABREV_DB is honoured" run 0 "$TEMABREV" theme add env-theme --name E
check "... in that file" test -f "$TMP/env.db"
unset TEMABREV_DB
printf '[general]\ndatabase = conf.db\n' > "$TMP/t.conf"
check "[general] database, relative to the file" run 0 "$TEMABREV" --config "$TMP/t.conf" theme list
check "... in that file" test -f "$TMP/conf.db"
printf '[general]\ndatabse = x\n' > "$TMP/bad.conf"
check "unknown config key (78)" run 78 "$TEMABREV" --config "$TMP/bad.conf" theme list
check "... names FILE:LINE" has "bad.conf:2:" "$TMP/err"
check "missing config file (66)" run 66 "$TEMABREV" --config "$TMP/none.conf" theme list

# ---- bad databases ----
: > "$TMP/file"
check "unwritable database path (74)" run 74 "$TEMABREV" --db "$TMP/file/sub/x.db" theme list
check "... names the path" has "$TMP/file/sub/x.db" "$TMP/err"
check "... one line" test "$(wc -l < "$TMP/err")" -eq 1
cp "$DB" "$TMP/future.db"
if command -v "$SQLITE3" >/dev/null 2>&1; then
	"$SQLITE3" "$TMP/future.db" 'PRAGMA user_version = 42;'
	check "database from the future refused (65)" run 65 "$TEMABREV" --db "$TMP/future.db" theme list
	check "... says it is newer" has "newer than this temabrev" "$TMP/err"
	check "... and left untouched" sh -c "[ \"\$('$SQLITE3' '$TMP/future.db' 'PRAGMA user_version')\" = 42 ]"
	"$SQLITE3" "$TMP/other.db" 'CREATE TABLE t(x);'
	check "a foreign sqlite database refused" run 65 "$TEMABREV" --db "$TMP/other.db" theme list
else
	ok "# SKIP sqlite3 CLI not installed"
fi
echo "this is not a database at all, just some text that fills a page......." > "$TMP/text.db"
check "a text file is not a database" run 65 "$TEMABREV" --db "$TMP/text.db" theme list

# Digest schedules (issue 6): stored in canonical form, shown with the next
# run in [general] timezone; the clock is TEMABREV_NOW.
DB="$TMP/sched.db"
printf '[general]\ntimezone = Europe/Stockholm\n' > "$TMP/sched.conf"
export TEMABREV_CONFIG="$TMP/sched.conf"
run 0 tb theme add barn --name "Barnets rätt"
check "theme edit --schedule" run 0 tb theme edit barn --schedule "Weekly Måndag 07:00"
check "... stored canonically" sh -c "'$TEMABREV' --db '$DB' theme show barn | grep -q 'schedule:     weekly monday 07:00'"
# 2026-03-28T23:20Z; daily 02:30 falls in the spring-forward gap: 03:00 CEST.
check "daily in the DST gap runs at the end of the gap" sh -c "'$TEMABREV' --db '$DB' theme edit barn --schedule 'daily 02:30' >/dev/null &&
    TEMABREV_NOW=1774740000 '$TEMABREV' --db '$DB' theme show barn --json | grep -q '\"next_digest\":\"2026-03-29T01:00:00Z\"'"
check "a bad schedule: 65 naming it" run 65 tb theme edit barn --schedule "daily 25:00"
check "... quoted" has "25:00" "$TMP/err"
check "... and the old one kept" sh -c "'$TEMABREV' --db '$DB' theme show barn | grep -q 'daily 02:30'"
check "schedule none clears it" run 0 tb theme edit barn --schedule none
check "... shown as none, no next digest" sh -c "'$TEMABREV' --db '$DB' theme show barn --json | grep -q '\"schedule\":null,\"next_digest\":null'"
printf '[general]\ntimezone = Mars/Olympus\n' > "$TMP/sched.conf"
run 0 tb theme edit barn --schedule "monthly last 08:00"
check "an unknown time zone: 78 naming it" run 78 tb theme show barn
check "... named" has "Mars/Olympus" "$TMP/err"
export TEMABREV_CONFIG=/dev/null

# Options are read by one table-driven parser (cli_parse): bad ones and
# bad numbers are usage errors that say which.
check "an unknown option exits 64" run 64 tb sub list --bogus
check "... naming it" has "unrecognized option '--bogus'" "$TMP/err"
check "... and the usage" has "usage: temabrev sub list" "$TMP/err"
check "a number below its range exits 64" run 64 tb edition new x --max-items 0
check "... saying so" has "--max-items takes a whole number of at least 1, not 0" "$TMP/err"
check "a number that is not one exits 64" run 64 tb inbox log --limit 5x
check "... saying so" has "--limit takes a whole number of at least 1, not 5x" "$TMP/err"
check "a number above its range exits 64" \
    run 64 tb dkim keygen --domain a.se --selector s --out "$TMP/k" --bits 99999
check "... saying so" has "--bits takes a whole number from 1 to 16384, not 99999" "$TMP/err"
check "an option's value may follow '='" run 0 tb inbox log --limit=3
check "-h prints the usage on stdout, exits 0" run 0 tb item list -h
check "... the usage" has "usage: temabrev item list" "$TMP/out"

done_testing
