#!/bin/sh
# End-to-end tests of composing and sending (issue 4): the real temabrev
# delivering over SMTP to tests/smtpd.py (aiosmtpd) started here on
# 127.0.0.1, each scenario with its own database and configuration file.
# tests/send-check.py parses every message that arrived (Python's email
# package) and checks headers, MIME structure, personalisation and tokens.
. "${TB_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"
. "$TB_SRCDIR/tests/servers.sh"

CHECK="$TB_SRCDIR/tests/send-check.py"
need_smtpd
if [ ! -f "$TB_SRCDIR/tests/smtpd.py" ] || [ ! -f "$CHECK" ]; then
	echo "1..0 # SKIP tests/smtpd.py or tests/send-check.py missing"
	exit 0
fi

# mkconf FILE PORT: the base configuration. Appending "[smtp]" and keys
# later overrides them (the last value wins).
mkconf() {
	cat > "$1" <<CONF
[general]
from = Mötesplats Social Innovation <nyhetsbrev@example.org>
list_domain = lists.example.org
base_url = https://lists.example.org
templates = $TB_SRCDIR/templates
[smtp]
host = localhost
port = $2
tls = none
rate = 0
connections = 2
max_per_connection = 20
timeout = 20
[send]
retry = 1
CONF
}

# mkfeed FILE PREFIX N: an RSS file with N items.
mkfeed() {
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo '<rss version="2.0"><channel><title>MSI</title>'
		echo '<link>https://msi.example.org/</link>'
		echo '<description>Nyheter</description>'
		i=1
		while [ "$i" -le "$3" ]; do
			printf '<item><title>%s %d: räksmörgåsar på Åland</title>' \
			    "$2" "$i"
			printf '<link>https://msi.example.org/%s-%d/</link>' "$2" "$i"
			printf '<guid isPermaLink="false">%s-%d</guid>' "$2" "$i"
			printf '<pubDate>Mon, 15 Mar 2021 %02d:00:00 +0100</pubDate>' \
			    "$i"
			printf '<description>Sammanfattning %d om ökad ' "$i"
			printf 'samverkan.</description></item>\n'
			i=$((i + 1))
		done
		echo '</channel></rss>'
	} > "$1"
}

# count DIR: message files smtpd.py stored there.
count() { ls "$1" | wc -l | tr -d ' '; }
# jfield FILE EXPR: EXPR (of d, the first JSON line of FILE) printed.
jfield() {
	"$PY" -c 'import json, sys
d = json.loads(open(sys.argv[1], encoding="utf-8").readline())
print(eval(sys.argv[2]))' "$1" "$2"
}
# tbt: tb with a bound on its run time (smtpd.py answers within seconds).
tbt() { timeout 120 "$TEMABREV" --db "$DB" "$@"; }
now() { date +%s.%N; }
elapsed_between() { awk -v a="$1" -v b="$2" -v lo="$3" -v hi="$4" \
    'BEGIN { d = b - a; exit !(d >= lo && d <= hi) }'; }

# ---------------------------------------------------------------------
# A: a normal edition, personalised, with injection attempts everywhere.
# ---------------------------------------------------------------------
smtpd_start a
PA=$SPORT
check "smtp capture server is up" test -n "$PA"
mkconf "$TMP/a.conf" "$PA"
export TEMABREV_CONFIG="$TMP/a.conf"
DB="$TMP/a.db"
MA="$TMP/a"
run 0 tb theme add barnets-ratt --name "Barnets rätt"

printf 'email,name,themes\r\n' > "$TMP/a.csv"
cat >> "$TMP/a.csv" <<'CSV'
anna.svensson@example.org,Anna Svensson,barnets-ratt
bjorn.ek@kommun.example.se,Björn Ek,barnets-ratt
cecilia.oberg@region.example.se,Cecilia Öberg,barnets-ratt
dan.aberg@example.org,"Åberg, Dan",barnets-ratt
fredrik@räksmörgås.se,Fredrik Ärlig,barnets-ratt
greta.holm@example.org,"Greta ""Gigi"" Holm",barnets-ratt
hugo.strand@example.org,,barnets-ratt
ivar@example.org,"Ivar <ivar@evil.example>; Bcc: evil@example.org",barnets-ratt
jons@example.org,Jöns =?UTF-8?Q?Bcc=3A_evil=40example=2Eorg?= Jönsson,barnets-ratt
CSV
printf 'eva@example.org,"Eva Lindqvist\r\nBcc: evil@example.org",barnets-ratt\r\n' \
    >> "$TMP/a.csv"
{
	printf 'anna.svensson@example.org\tAnna Svensson\n'
	printf 'bjorn.ek@kommun.example.se\tBjörn Ek\n'
	printf 'cecilia.oberg@region.example.se\tCecilia Öberg\n'
	printf 'dan.aberg@example.org\tÅberg, Dan\n'
	printf 'fredrik@räksmörgås.se\tFredrik Ärlig\n'
	printf 'greta.holm@example.org\tGreta "Gigi" Holm\n'
	printf 'hugo.strand@example.org\t\n'
	printf 'ivar@example.org\tIvar <ivar@evil.example>; Bcc: evil@example.org\n'
	printf 'jons@example.org\tJöns =?UTF-8?Q?Bcc=3A_evil=40example=2Eorg?= Jönsson\n'
} > "$TMP/a.tsv"
check "import: a name with CR LF Bcc: is refused at the door" \
    run 65 tb sub import "$TMP/a.csv"
check "... naming the row and the reason" \
    grep -q 'a.csv:11: eva@example.org: name contains a line break' "$TMP/err"
check "... the other nine are imported" has "9 added" "$TMP/out"
check "sub add: a name with LF Bcc: is refused" \
    run 65 tb sub add eva@example.org --name "$(printf 'Eva\nBcc: evil@example.org')" \
    --theme barnets-ratt
check "theme add: a name with CR LF is refused" \
    run 65 tb theme add injektion --name "$(printf 'Tema\r\nBcc: evil@example.org')"
check "theme edit: a name with LF is refused" \
    run 65 tb theme edit barnets-ratt --name "$(printf 'Tema\nBcc: evil@example.org')"

# A crafted feed: CR LF and header lines in a title and an author.
cat > "$TMP/evil.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
<title>Ond kanal</title><link>https://msi.example.org/</link>
<description>x</description>
<item><title>Rubrik&#13;&#10;Bcc: evil@example.org&#13;&#10;&#13;&#10;--=_temabrev_alt_0</title>
<link>https://msi.example.org/ond/</link><guid>ond-1</guid>
<dc:creator>Författare&#13;&#10;Bcc: evil2@example.org</dc:creator>
<pubDate>Tue, 16 Mar 2021 10:00:00 +0100</pubDate>
<description><![CDATA[<p>Brödtext&#13;&#10;Bcc: evil3@example.org</p>]]></description></item>
</channel></rss>
XML
run 0 tb feed add barnets-ratt "$TB_SRCDIR/demo/feed.xml"
run 0 tb feed add barnets-ratt "$TMP/evil.xml"
check "feeds fetched (demo and a crafted one)" run 0 tb feed fetch

# An intro with header lines, a lone dot, a boundary look-alike, a From
# line and a line far longer than 998 octets.
{
	printf 'Hej allihop,\r\nBcc: evil4@example.org\r\n\r\n.\r\n\r\n'
	printf '..\r\n\r\nFrom nobody Mon Mar 15\r\n\r\n--=_temabrev_alt_0\r\n\r\n'
	printf 'Lång rad: '
	i=0; while [ $i -lt 150 ]; do printf 'åäöÅÄÖxyz'; i=$((i + 1)); done
	printf '\r\n\r\nVänliga hälsningar, MSI\r\n'
} > "$TMP/intro.txt"
SUBJ='Nyheter från MSI: ”barnets rätt” =?UTF-8?B?QmNjOiBldmlsQGV4YW1wbGUub3Jn?= & mer om åäö ÅÄÖ i samhället, hösten 2026'
check "edition new: a --subject with CR LF is refused" \
    run 65 tb edition new barnets-ratt --subject "$(printf 'Hej\r\nBcc: evil@example.org')"
check "... with a clear error" has "line break" "$TMP/err"
check "edition new: an intro with a control character is refused" sh -c "
	printf 'Hej\033[31m\n' > '$TMP/bad-intro.txt'
	'$TEMABREV' --db '$DB' edition new barnets-ratt --intro '$TMP/bad-intro.txt' 2>&1
	[ \$? -eq 65 ]"
check "... and nothing was drafted" sh -c "[ -z \"\$('$TEMABREV' --db '$DB' edition list)\" ]"
check "edition new with a subject and an intro" \
    run 0 tb edition new barnets-ratt --subject "$SUBJ" --intro "$TMP/intro.txt"
check "... three items" has "3 items" "$TMP/out"
check "edition new with no unsent items: exit 65" \
    run 65 tb edition new barnets-ratt
check "... says so" has "no items" "$TMP/err"
check "edition send" run 0 tbt edition send 1
check "... nine queued" has "9 recipients queued" "$TMP/out"
check "... nine sent" has "9 sent, 0 failed, 0 deferred" "$TMP/out"
check "every message: headers, MIME, 7-bit CRLF, personal tokens, list headers" \
    "$PY" "$CHECK" "$MA" --expect "$TMP/a.tsv" --slug barnets-ratt \
    --base-url https://lists.example.org --subject "$SUBJ" --tls no \
    --contains "Hej allihop, Bcc: evil4@example.org" --contains "
.

..

From nobody Mon Mar 15

--=_temabrev_alt_0
" --contains "Rubrik Bcc: evil@example.org --=_temabrev_alt_0" --contains "Författare" --contains "Vänliga hälsningar"
check "nothing went to the injected addresses" sh -c "! ls '$MA' | grep -q evil"
check "the checker itself catches an injected header" sh -c "
	f=\$(ls '$MA' | head -1)
	sed '0,/^To: /s//Bcc: evil@example.org\r\nTo: /' '$MA/'\"\$f\" > '$TMP/tampered'
	! '$PY' '$CHECK' --slug barnets-ratt --base-url https://lists.example.org \
	    '$TMP/tampered' >/dev/null"

check "edition show --json" run 0 tb edition show 1 --json
check "... done, nine sent" "$PY" -c '
import json, sys
e = json.loads(open(sys.argv[1]).readline())
assert e["status"] == "done", e
assert e["counts"]["sent"] == 9 and e["counts"]["queued"] == 0, e
' "$TMP/out"
cp "$TMP/out" "$TMP/a.show1"
check "sending the same edition again is refused (exit 65)" \
    run 65 tbt edition send 1
check "... and mails nobody twice" test "$(count "$MA")" -eq 9
check "temabrev send with nothing queued" run 0 tbt send
check "... sends nothing" test "$(count "$MA")" -eq 9
check "edition rm of a sent edition is refused" run 65 tb edition rm 1
check "... saying only drafts" has "draft" "$TMP/err"
check "edition cancel of a done edition is refused" run 65 tb edition cancel 1

mkfeed "$TMP/a2.xml" "Nytt" 2
run 0 tb feed add barnets-ratt "$TMP/a2.xml"
run 0 tb feed fetch
check "a second edition (draft)" run 0 tb edition new barnets-ratt
E2=$(sed -n 's/^edition \([0-9]*\) (draft).*/\1/p' "$TMP/out")
check "edition rm of the draft" run 0 tb edition rm "$E2"
check "... frees its items for the next draft" run 0 tb edition new barnets-ratt
check "... the same two items" has "2 items" "$TMP/out"
E3=$(sed -n 's/^edition \([0-9]*\) (draft).*/\1/p' "$TMP/out")

check "edition list --json" run 0 tb edition list --json
check "... has id, theme, subject, status, created, counts{...}" "$PY" -c '
import json, re, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
assert [r["id"] for r in rows] == [1, int(sys.argv[3])], rows
for r in rows:
    for k in ("id", "theme", "subject", "status", "created", "counts"):
        assert k in r, (k, r)
    assert set(r["counts"]) >= {"queued", "sending", "sent", "deferred",
                                "failed", "cancelled"}, r["counts"]
    assert all(isinstance(v, int) for v in r["counts"].values()), r
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", r["created"]), r
assert rows[0]["theme"] == "barnets-ratt" and rows[0]["status"] == "done"
assert rows[0]["subject"] == sys.argv[2], rows[0]["subject"]
assert rows[0]["counts"]["sent"] == 9
assert rows[1]["status"] == "draft" and rows[1]["counts"]["sent"] == 0
' "$TMP/out" "$SUBJ" "$E3"

check "edition preview --to a subscriber" \
    run 0 tb edition preview 1 --to greta.holm@example.org
cp "$TMP/out" "$TMP/preview1.eml"
check "... a full message for her (headers, both parts)" \
    "$PY" "$CHECK" --preview "$TMP/preview1.eml" --slug barnets-ratt \
    --base-url https://lists.example.org --subject "$SUBJ" \
    --name 'Greta "Gigi" Holm' --contains "Rubrik"
check "... with the Message-ID she got" sh -c "
	grep -i '^Message-ID:' '$TMP/preview1.eml' > '$TMP/m1'
	grep -i '^Message-ID:' '$MA/greta.holm@example.org' > '$TMP/m2'
	cmp -s '$TMP/m1' '$TMP/m2'"
check "edition preview of a sample subscriber" run 0 tb edition preview "$E3"
cp "$TMP/out" "$TMP/preview2.eml"
check "... a full message for Anna Exempel" \
    "$PY" "$CHECK" --preview "$TMP/preview2.eml" --slug barnets-ratt \
    --base-url https://lists.example.org --name "Anna Exempel" \
    --contains "Nytt 1: räksmörgåsar på Åland"
check "edition preview of no edition: exit 65" run 65 tb edition preview 99

check "edition test --to a reviewer" \
    run 0 tbt edition test "$E3" --to granskare@example.org
check "... one copy arrived" test -f "$MA/granskare@example.org"
check "... a complete message" \
    "$PY" "$CHECK" "$MA/granskare@example.org" --slug barnets-ratt \
    --base-url https://lists.example.org --name "" --test-copy
check "... not recorded as a delivery" sh -c "
	'$TEMABREV' --db '$DB' edition show $E3 --json > '$TMP/s3'
	'$PY' -c 'import json, sys
e = json.loads(open(sys.argv[1]).readline())
assert e[\"status\"] == \"draft\" and sum(e[\"counts\"].values()) == 0, e
' '$TMP/s3'"
check "edition test --to a subscriber of a sent edition" \
    run 0 tbt edition test 1 --to anna.svensson@example.org
check "... counts of edition 1 unchanged" sh -c "
	'$TEMABREV' --db '$DB' edition show 1 --json > '$TMP/s1'
	cmp -s '$TMP/s1' '$TMP/a.show1'"
check "edition test without --to: usage" run 64 tb edition test 1

# ---------------------------------------------------------------------
# B: no base_url (mailto only, no one-click), a 40-character slug.
# ---------------------------------------------------------------------
smtpd_start b
mkconf "$TMP/b.conf" "$SPORT"
printf '[general]\nbase_url =\n' >> "$TMP/b.conf"
export TEMABREV_CONFIG="$TMP/b.conf"
DB="$TMP/b.db"
SLUG40=trygghet-i-det-offentliga-rummet-sthlm-x
run 0 tb theme add "$SLUG40" --name 'Trygghet: "säker" <stad>, =?UTF-8?B?QmNjOg==?= & ro'
check "a 40-character slug" test "${#SLUG40}" -eq 40
run 0 tb sub add kalle@example.org --name "Kalle Öhman" --theme "$SLUG40"
run 0 tb sub add lisa.astrom@example.org --name "Lisa Åström" --theme "$SLUG40"
printf 'kalle@example.org\tKalle Öhman\nlisa.astrom@example.org\tLisa Åström\n' \
    > "$TMP/b.tsv"
mkfeed "$TMP/b.xml" "Trygghet" 2
run 0 tb feed add "$SLUG40" "$TMP/b.xml"
run 0 tb feed fetch
run 0 tb edition new "$SLUG40" --max-items 1
check "send without base_url" run 0 tbt edition send 1
BSUBJ=$(tbt edition list --json | "$PY" -c 'import json, sys
print(json.loads(sys.stdin.readline())["subject"])')
case $BSUBJ in
'Trygghet: "säker" <stad>, =?UTF-8?B?QmNjOg==?= & ro – '*)
	ok "... the default subject carries the theme name as typed" ;;
*)	not_ok "... the default subject carries the theme name as typed" "$BSUBJ" ;;
esac
check "... mailto only, no List-Unsubscribe-Post; SLUG40+TOKEN@ <= 64 octets" \
    "$PY" "$CHECK" "$TMP/b" --expect "$TMP/b.tsv" --slug "$SLUG40" \
    --subject "$BSUBJ"
printf '[general]\nbase_url = http://lists.example.org\n' >> "$TMP/b.conf"
run 0 tb edition new "$SLUG40" --max-items 1
rm -f "$TMP/b"/*
check "send with an http base_url" run 0 tbt edition send 2
check "... the URL but no List-Unsubscribe-Post (RFC 8058 needs https)" \
    "$PY" "$CHECK" "$TMP/b" --expect "$TMP/b.tsv" --slug "$SLUG40" \
    --base-url http://lists.example.org

# ---------------------------------------------------------------------
# C: 4xx, 5xx and a dropped connection in one batch; max_attempts = 2.
# ---------------------------------------------------------------------
smtpd_start c
MC="$TMP/c"
mkconf "$TMP/c.conf" "$SPORT"
# retry = 4 for the first pass, so the rows are not due again at once.
printf '[smtp]\nconnections = 1\n[send]\nmax_attempts = 2\nretry = 4\n' \
    >> "$TMP/c.conf"
export TEMABREV_CONFIG="$TMP/c.conf"
DB="$TMP/c.db"
run 0 tb theme add digital-inkludering --name "Digital inkludering"
: > "$TMP/c.tsv"
for who in "lena Lena Lund" "t450 Tomas Fyrafemtio" "t451 Tove Fyrafemett" \
    "olle Olle Ödman" "t452 Tage Fyrafemtva" "t550 Tuva Femfemtio" \
    "t571 Tyra Policy" "petra Petra Pärlemor" "drop Dora Droppe" \
    "rut Rut Rönn" "sven Sven Sjö"; do
	set -- $who
	run 0 tb sub add "$1@example.org" --name "$2 $3" --theme digital-inkludering
	case $1 in t*|drop) ;; *) printf '%s@example.org\t%s %s\n' "$1" "$2" "$3" \
	    >> "$TMP/c.tsv" ;; esac
done
mkfeed "$TMP/c.xml" "Digitalt" 1
run 0 tb feed add digital-inkludering "$TMP/c.xml"
run 0 tb feed fetch
run 0 tb edition new digital-inkludering
check "send --no-wait with 4xx recipients: exit 75" \
    run 75 tbt edition send 1 --no-wait
check "... saying how many are deferred and when the next try is" \
    grep -Eq '[0-9]+ deferred messages? left; the next try is at [0-9]{2}:[0-9]{2}' \
    "$TMP/err"
check "temabrev send --no-wait with only deferred rows left: exit 75" \
    run 75 tbt send --no-wait
check "... saying how many and when" \
    grep -Eq '[4-9] deferred messages left; the next try is at [0-9]{2}:[0-9]{2}' \
    "$TMP/err"
check "edition show --failed" run 0 tb edition show 1 --failed
cp "$TMP/out" "$TMP/c.failed1"
check "... t450 deferred with the server's reply" \
    grep -Eq '^t450@example.org +deferred .*450 4.2.1 Mailbox busy' "$TMP/c.failed1"
check "... t451 deferred with the server's reply" \
    grep -Eq '^t451@example.org +deferred .*451 4.3.0 Local error' "$TMP/c.failed1"
check "... t452 deferred with the server's reply" \
    grep -Eq '^t452@example.org +deferred .*452 4.3.1 Insufficient' "$TMP/c.failed1"
check "... t550 failed with the server's reply" \
    grep -Eq '^t550@example.org +failed .*550 5.1.1 No such user' "$TMP/c.failed1"
check "... t571 failed (5.7.1)" \
    grep -Eq '^t571@example.org +failed .*550 5.7.1 Delivery not authorized' \
    "$TMP/c.failed1"
check "... t571 recorded as a policy refusal, t550 not" "$PY" -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = dict(db.execute("SELECT s.email, d.policy FROM delivery d JOIN "
    "subscriber s ON s.id = d.subscriber_id WHERE s.email LIKE ?",
    ("t5%",)).fetchall())
assert rows == {"t571@example.org": 1, "t550@example.org": 0}, rows
' "$DB"
check "... t550 logged as a hard bounce in its history, t571 not" sh -c "
    '$TEMABREV' --db '$DB' sub show t550@example.org | grep -q 'bounce .*hard bounce at delivery: 550' &&
    ! '$TEMABREV' --db '$DB' sub show t571@example.org | grep -q ' bounce '"
check "... the dropped message deferred with the reason, never sent" \
    grep -Eq '^drop@example.org +deferred .*connection' "$TMP/c.failed1"
check "... and nothing stored for any scripted recipient" \
    sh -c "! ls '$MC' | grep -Eq '^(t4|t5|drop)'"
check "... whoever was sent got one copy" \
    "$PY" "$CHECK" "$MC" --slug digital-inkludering \
    --base-url https://lists.example.org
printf '[send]\nretry = 1\n' >> "$TMP/c.conf"
check "temabrev send retries until max_attempts (bounded)" run 0 tbt send
check "... t450/t451/t452 and drop end failed after 2 attempts" sh -c "
	'$TEMABREV' --db '$DB' edition show 1 --failed > '$TMP/c.failed2'
	for u in t450 t451 t452 drop; do
		grep -Eq \"^\$u@example.org +failed .*gave up after 2 attempts\" \
		    '$TMP/c.failed2' || exit 1
	done"
check "... the edition is done" sh -c "
	'$TEMABREV' --db '$DB' edition show 1 --json | grep -q '\"status\": *\"done\"'"
check "... everyone else got exactly one copy" \
    "$PY" "$CHECK" "$MC" --expect "$TMP/c.tsv" --slug digital-inkludering \
    --base-url https://lists.example.org
check "... the JSON form has code, reply and attempts" sh -c "
	'$TEMABREV' --db '$DB' edition show 1 --failed --json |
	    grep '\"t451@example.org\"' | grep '\"code\": *451' |
	    grep -q '\"attempts\": *2'"

# ---------------------------------------------------------------------
# D: STARTTLS, AUTH, and the configurations refused before connecting.
# ---------------------------------------------------------------------
D_OK=1
for n in localhost other.example; do
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
	    -keyout "$TMP/$n.key" -out "$TMP/$n.pem" -subj "/CN=$n" \
	    -addext "subjectAltName=DNS:$n" >/dev/null 2>&1 || D_OK=0
done
check "openssl made the self-signed certificates" test "$D_OK" -eq 1
smtpd_start dgood --tls-cert "$TMP/localhost.pem" --tls-key "$TMP/localhost.key" \
    --auth temabrev:hemligt-lösen
PGOOD=$SPORT
smtpd_start dbad --tls-cert "$TMP/other.example.pem" \
    --tls-key "$TMP/other.example.key"
PBAD=$SPORT
printf 'hemligt-lösen\n' > "$TMP/pw"
chmod 600 "$TMP/pw"
DB="$TMP/d.db"
export TEMABREV_CONFIG="$TMP/d.conf"
mkconf "$TMP/d.conf" "$PGOOD"
printf '[smtp]\ntls = starttls\nca_file = %s\nuser = temabrev\npassword_file = %s\n' \
    "$TMP/localhost.pem" "$TMP/pw" >> "$TMP/d.conf"
run 0 tb theme add arbete-i-framtiden --name "Arbete i framtiden"
run 0 tb sub add maja@example.org --name "Maja Möller" --theme arbete-i-framtiden
run 0 tb sub add nils@example.org --name "Nils Nyström" --theme arbete-i-framtiden
printf 'maja@example.org\tMaja Möller\nnils@example.org\tNils Nyström\n' > "$TMP/d.tsv"
mkfeed "$TMP/d.xml" "Arbete" 3
run 0 tb feed add arbete-i-framtiden "$TMP/d.xml"
run 0 tb feed fetch
run 0 tb edition new arbete-i-framtiden --max-items 1
check "STARTTLS with ca_file and AUTH delivers" run 0 tbt edition send 1
check "... over TLS, authenticated" \
    "$PY" "$CHECK" "$TMP/dgood" --expect "$TMP/d.tsv" --slug arbete-i-framtiden \
    --base-url https://lists.example.org --tls yes --auth temabrev
run 0 tb edition new arbete-i-framtiden --max-items 1
mkconf "$TMP/d.conf" "$PBAD"
printf '[smtp]\ntls = starttls\nca_file = %s\n' "$TMP/other.example.pem" \
    >> "$TMP/d.conf"
check "a certificate for another name: nothing delivered, exit 75" \
    run 75 tbt edition send 2 --no-wait
check "... nothing arrived" test "$(count "$TMP/dbad")" -eq 0
check "... both rows deferred with a TLS reason" sh -c "
	'$TEMABREV' --db '$DB' edition show 2 --failed > '$TMP/d.f'
	[ \$(grep -c 'deferred .*TLS.*certificate does not name localhost' '$TMP/d.f') -eq 2 ]"
mkconf "$TMP/d.conf" "$PGOOD"
printf '[smtp]\ntls = starttls\n' >> "$TMP/d.conf"
sleep 1.2	# the retry of [send] retry = 1 is due
check "an untrusted certificate (no ca_file): nothing delivered, exit 75" \
    run 75 tbt send --no-wait
check "... nothing more arrived" test "$(count "$TMP/dgood")" -eq 2
check "... both rows deferred with a TLS reason" sh -c "
	'$TEMABREV' --db '$DB' edition show 2 --failed > '$TMP/d.f'
	[ \$(grep -c 'deferred .*TLS.*not trusted' '$TMP/d.f') -eq 2 ]"
mkconf "$TMP/d.conf" "$PGOOD"
printf '[smtp]\nuser = temabrev\npassword_file = %s\n' "$TMP/pw" >> "$TMP/d.conf"
check "AUTH with tls = none: exit 78" run 78 tbt send
check "... a clear configuration error" has "AUTH requires tls=starttls" "$TMP/err"
run 0 tb edition new arbete-i-framtiden --max-items 1
check "... edition send refuses it before queuing anything" \
    run 78 tbt edition send 3
check "... edition 3 stays a draft" sh -c "
	'$TEMABREV' --db '$DB' edition show 3 --json | grep -q '\"status\": *\"draft\"'"
mkconf "$TMP/d.conf" 465
check "port 465: exit 78" run 78 tbt send
check "... implicit TLS named" has "465" "$TMP/err"
mkconf "$TMP/d.conf" 25
printf '[smtp]\nhost = mail.example.org\n' >> "$TMP/d.conf"
check "tls = none to a host that is not loopback: exit 78" run 78 tbt send
check "... the TLS servers got nothing else" \
    test "$(count "$TMP/dgood")" -eq 2 -a "$(count "$TMP/dbad")" -eq 0
rm -f "$TMP/dgood"/*
mkconf "$TMP/d.conf" "$PGOOD"
printf '[smtp]\ntls = starttls\nca_file = %s\n' "$TMP/localhost.pem" >> "$TMP/d.conf"
check "the TLS configuration fixed, temabrev send delivers the deferred rows" \
    run 0 tbt send
check "... each exactly once, over TLS" \
    "$PY" "$CHECK" "$TMP/dgood" --expect "$TMP/d.tsv" --slug arbete-i-framtiden \
    --base-url https://lists.example.org --tls yes
check "... edition 2 done after 3 attempts, edition 3 still a draft" sh -c "
	'$TEMABREV' --db '$DB' edition list --json > '$TMP/d.l'
	'$PY' -c 'import json, sys
e = [json.loads(l) for l in open(sys.argv[1])]
assert [x[\"status\"] for x in e] == [\"done\", \"done\", \"draft\"], e
assert e[1][\"counts\"][\"sent\"] == 2, e[1]
' '$TMP/d.l'"

# ---------------------------------------------------------------------
# E: crash safety: 2,000 subscribers, killed at five points, resumed.
# ---------------------------------------------------------------------
smtpd_start e
ME="$TMP/e"
mkconf "$TMP/e.conf" "$SPORT"
printf '[smtp]\nconnections = 4\nmax_per_connection = 50\n' >> "$TMP/e.conf"
export TEMABREV_CONFIG="$TMP/e.conf"
DB="$TMP/e.db"
run 0 tb theme add jamlik-folkhalsa --name "Jämlik folkhälsa"
"$PY" -c '
import csv, sys
first = ["Åsa", "Örjan", "Märta", "Björn", "Ingrid", "Kåre", "Ylva", "Göran"]
last = ["Åkesson", "Öberg", "Sjöström", "Lindqvist", "Bäckström", "Nyström"]
w = csv.writer(open(sys.argv[1], "w", newline="", encoding="utf-8"))
t = open(sys.argv[2], "w", encoding="utf-8")
w.writerow(["email", "name", "themes"])
for i in range(2000):
    email = "medlem%04d@example.org" % i
    name = "%s %s %d" % (first[i % 8], last[i % 6], i)
    w.writerow([email, name, "jamlik-folkhalsa"])
    t.write("%s\t%s\n" % (email, name))
' "$TMP/e.csv" "$TMP/e.tsv"
check "import 2,000 subscribers" run 0 tb sub import "$TMP/e.csv"
mkfeed "$TMP/e.xml" "Folkhälsa" 5
run 0 tb feed add jamlik-folkhalsa "$TMP/e.xml"
run 0 tb feed fetch
ed=0
for point in sender-after-claim:6 sender-message:777 sender-after-smtp:17 \
    sender-before-record:25 sender-message:1900; do
	ed=$((ed + 1))
	rm -f "$ME"/*
	run 0 tb edition new jamlik-folkhalsa --max-items 1
	check "crash $point: killed by SIGKILL" \
	    run 137 env TEMABREV_CRASH=$point timeout 120 "$TEMABREV" \
	    --db "$DB" edition send $ed
	got=$(count "$ME")
	check "... mid-send ($got of 2000 arrived)" \
	    test "$got" -gt 0 -a "$got" -lt 2000
	check "... temabrev send resumes" run 0 tbt send
	check "... the leases of the dead process were queued again" \
	    has "interrupted send were queued again" "$TMP/out"
	check "... everyone got it, at most 200 (4 x 50) twice, same Message-ID" \
	    "$PY" "$CHECK" "$ME" --expect "$TMP/e.tsv" --max-dups 200 \
	    --sample 97 --slug jamlik-folkhalsa \
	    --base-url https://lists.example.org
	check "... the edition is done, 2000 sent" sh -c "
		'$TEMABREV' --db '$DB' edition show $ed --json > '$TMP/e.s'
		'$PY' -c 'import json, sys
e = json.loads(open(sys.argv[1]).readline())
assert e[\"status\"] == \"done\" and e[\"counts\"][\"sent\"] == 2000, e
' '$TMP/e.s'"
done
rm -f "$ME"/*

# ---------------------------------------------------------------------
# F: the rate limit, shared by two processes.
# ---------------------------------------------------------------------
smtpd_start f
MF="$TMP/f"
mkconf "$TMP/f.conf" "$SPORT"
printf '[smtp]\nrate = 20\nconnections = 2\nmax_per_connection = 10\n' \
    >> "$TMP/f.conf"
export TEMABREV_CONFIG="$TMP/f.conf"
DB="$TMP/f.db"
run 0 tb theme add takt --name "Takt"
run 0 tb theme add takt-tva --name "Takt två"
"$PY" -c '
import sys
with open(sys.argv[1], "w", encoding="utf-8") as w:
    w.write("email,name,themes\n")
    for i in range(40):
        w.write("takt%02d@example.org,Åke Takt %d,takt\n" % (i, i))
    for i in range(40):
        w.write("tva%02d@example.org,Örn Två %d,%s\n" %
                (i, i, "takt-tva" if i < 20 else "takt"))
' "$TMP/f.csv"
run 0 tb sub import "$TMP/f.csv"
mkfeed "$TMP/f.xml" "Takt" 2
run 0 tb feed add takt "$TMP/f.xml"
run 0 tb feed add takt-tva "$TMP/f.xml"
run 0 tb feed fetch
run 0 tb edition new takt --max-items 1
# Theme takt has 60 subscribers now; the first run takes 40 of them.
for i in 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39; do
	run 0 tb sub rm "tva$i@example.org" --theme takt
done
t0=$(now)
check "rate = 20: 40 recipients" run 0 tbt edition send 1
t1=$(now)
check "... take at least 1.8 s (and less than 30 s)" \
    elapsed_between "$t0" "$t1" 1.8 30
check "... one copy each" test "$(count "$MF")" -eq 40
rm -f "$MF"/*
run 0 tb edition new takt --max-items 1
run 0 tb edition new takt-tva --max-items 1
t0=$(now)
tbt edition send 2 >"$TMP/f1.out" 2>"$TMP/f1.err" &
P1=$!
tbt edition send 3 >"$TMP/f2.out" 2>"$TMP/f2.err" &
P2=$!
wait $P1; r1=$?
wait $P2; r2=$?
t1=$(now)
check "two processes sending at once both finish" test "$r1" -eq 0 -a "$r2" -eq 0
check "... 60 messages, one each" test "$(count "$MF")" -eq 60
check "... sharing rate = 20: at least 2.7 s for 60 (not half that)" \
    elapsed_between "$t0" "$t1" 2.7 40

# ---------------------------------------------------------------------
# G: the hourly window, dry run, leaving after being queued.
# ---------------------------------------------------------------------
smtpd_start g
MG="$TMP/g"
PG=$SPORT
mkconf "$TMP/g.conf" "$PG"
printf '[smtp]\nmax_per_hour = 5\n' >> "$TMP/g.conf"
export TEMABREV_CONFIG="$TMP/g.conf"
DB="$TMP/g.db"
run 0 tb theme add fonster --name "Fönster"
for n in ada bo cia dag eja fia gun hal; do
	run 0 tb sub add "$n@example.org" --name "$n Ängström" --theme fonster
done
mkfeed "$TMP/g.xml" "Fönster" 1
run 0 tb feed add fonster "$TMP/g.xml"
run 0 tb feed fetch
run 0 tb edition new fonster
check "--dry-run" run 0 tbt edition send 1 --dry-run
check "... prints the recipients" grep -Eq 'recipients: +8 ' "$TMP/out"
check "... and the rate" grep -q 'rate 0' "$TMP/out"
check "... and that max_per_hour binds" grep -Eq 'limit that binds: +max_per_hour' \
    "$TMP/out"
check "... sends nothing" test "$(count "$MG")" -eq 0
check "... queues nothing" sh -c "
	'$TEMABREV' --db '$DB' edition show 1 --json | grep -q '\"status\": *\"draft\"'"
check "max_per_hour = 5, 8 recipients, --no-wait: exit 75" \
    run 75 tbt edition send 1 --no-wait
check "... five sent" test "$(count "$MG")" -eq 5
check "... mentioning the pause" has "sending window is full until" "$TMP/err"
left=
for n in ada bo cia dag eja fia gun hal; do
	[ -f "$MG/$n@example.org" ] || left="$left $n"
done
set -- $left
check "... three left queued" test $# -eq 3
check "edition send of the same edition again" run 75 tbt edition send 1 --no-wait
check "... queues nobody twice" has "0 recipients queued" "$TMP/out"
check "... sends nobody anything (window still full)" test "$(count "$MG")" -eq 5
run 0 tb sub rm "$1@example.org" --theme fonster
run 0 tb sub forget "$2@example.org"
KEEP=$3
printf '[smtp]\nmax_per_hour = 0\n' >> "$TMP/g.conf"
check "temabrev send after the window opens" run 0 tbt send
check "... the one still subscribed got it" test -f "$MG/$KEEP@example.org"
check "... the unsubscribed and the forgotten never" \
    test "$(count "$MG")" -eq 6
check "edition show --failed" run 0 tb edition show 1 --failed
check "... the unsubscribed row: cancelled, no longer subscribed" \
    grep -Eq "^$1@example.org +cancelled .*no longer subscribed" "$TMP/out"
check "... the forgotten row: cancelled, address erased" \
    grep -Eq '^\(erased\) +cancelled' "$TMP/out"
check "... nothing else" test "$(wc -l < "$TMP/out")" -eq 2
check "... and nobody got two" \
    "$PY" "$CHECK" "$MG" --slug fonster --base-url https://lists.example.org

# ---------------------------------------------------------------------
# H: edition cancel stops a send that is running.
# ---------------------------------------------------------------------
smtpd_start h
MH="$TMP/h"
mkconf "$TMP/h.conf" "$SPORT"
printf '[smtp]\nrate = 10\nconnections = 2\nmax_per_connection = 3\n' \
    >> "$TMP/h.conf"
export TEMABREV_CONFIG="$TMP/h.conf"
DB="$TMP/h.db"
run 0 tb theme add avbryt --name "Avbryt"
"$PY" -c '
import sys
with open(sys.argv[1], "w", encoding="utf-8") as w:
    w.write("email,name,themes\n")
    for i in range(40):
        w.write("stopp%02d@example.org,Stina Stopp %d,avbryt\n" % (i, i))
' "$TMP/h.csv"
run 0 tb sub import "$TMP/h.csv"
mkfeed "$TMP/h.xml" "Avbryt" 1
run 0 tb feed add avbryt "$TMP/h.xml"
run 0 tb feed fetch
run 0 tb edition new avbryt
tbt edition send 1 >"$TMP/h1.out" 2>"$TMP/h1.err" &
P1=$!
i=0
while [ "$(count "$MH")" -lt 5 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "edition cancel while it is being sent" run 0 tb edition cancel 1
check "... cancels the queued rows" \
    grep -Eq 'cancelled: [1-9][0-9]* queued messages? will not be sent' "$TMP/out"
wait $P1
check "... the running send ends (exit 0)" test $? -eq 0
check "... sent + cancelled = 40, status cancelled, as many arrived as sent" sh -c "
	'$TEMABREV' --db '$DB' edition show 1 --json > '$TMP/h.s'
	'$PY' -c 'import json, sys
e = json.loads(open(sys.argv[1]).readline())
c = e[\"counts\"]
assert e[\"status\"] == \"cancelled\", e
assert c[\"sent\"] + c[\"cancelled\"] == 40 and c[\"cancelled\"] >= 20, c
assert c[\"sent\"] == int(sys.argv[2]), (c, sys.argv[2])
' '$TMP/h.s' \"\$(ls '$MH' | wc -l)\""
n=$(count "$MH")
check "temabrev send afterwards sends nothing more" run 0 tbt send
check "... nothing arrived" test "$(count "$MH")" -eq "$n"
check "sending a cancelled edition is refused" run 65 tbt edition send 1

# ---------------------------------------------------------------------
# digest: what cron runs. New items make one edition, queued (--send
# delivers it); two at once make one; no new items, no mail, exit 0.
# ---------------------------------------------------------------------
smtpd_start dg
MD="$TMP/dg"
mkconf "$TMP/dg.conf" "$SPORT"
export TEMABREV_CONFIG="$TMP/dg.conf"
DB="$TMP/dg.db"
run 0 tb theme add digest --name "Digital inkludering"
for n in 1 2 3 4 5; do run 0 tb sub add "d$n@example.org" --theme digest; done
mkfeed "$TMP/dg.xml" "Digest" 3
run 0 tb feed add digest "$TMP/dg.xml"
run 0 tb feed fetch
check "digest without --send queues" run 0 tbt digest digest
check "... names the edition and its items" has "edition 1, 3 items" "$TMP/out"
check "... and mails nobody yet" test "$(count "$MD")" -eq 0
check "temabrev send then delivers it" run 0 tbt send
check "... to the five" test "$(count "$MD")" -eq 5
check "a second digest: no new items, exit 0" run 0 tbt digest digest
check "... says so" has "no new items, no digest" "$TMP/out"
check "... and mails nobody" test "$(count "$MD")" -eq 5
mkfeed "$TMP/dg.xml" "Digest" 5
run 0 tb feed fetch
tbt digest digest >"$TMP/dg1.out" 2>&1 &
P1=$!
tbt digest digest >"$TMP/dg2.out" 2>&1
wait $P1
check "two digests at once make one edition" \
    test "$(cat "$TMP/dg1.out" "$TMP/dg2.out" | grep -c 'items$')" -eq 1
check "... the other finds nothing" \
    grep -q "no new items" "$TMP/dg1.out" "$TMP/dg2.out"
check "digest --send delivers at once" run 0 tbt digest digest --send
check "... with no items left: nothing" has "no new items" "$TMP/out"
check "temabrev send delivers the queued one" run 0 tbt send
check "... five more arrived" test "$(count "$MD")" -eq 10
check "digest of no such theme: 65" run 65 tbt digest nope

done_testing
