#!/bin/sh
# End-to-end tests of feeds: temabrev fetching from a real HTTP server on
# 127.0.0.1 started here (tests/httpd.py), and from files.
. "${TB_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

PY=${TB_PYTHON3:-/usr/bin/python3}
DB="$TMP/f.db"
FEED="$TB_SRCDIR/demo/feed.xml"
if ! "$PY" -c 'import http.server' 2>/dev/null; then
	echo "1..0 # SKIP python3 not found"
	exit 0
fi
"$PY" "$TB_SRCDIR/tests/httpd.py" "$TMP/port" "$FEED" --max-seconds 240 &
HTTPD=$!
trap 'kill $HTTPD 2>/dev/null; rm -rf "$TMP"' EXIT
i=0
while [ ! -s "$TMP/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
PORT=$(cat "$TMP/port")
B="http://127.0.0.1:$PORT"
cat > "$TMP/t.conf" <<CONF
[feeds]
timeout = 3
connect_timeout = 2
max_size = 512K
CONF
export TEMABREV_CONFIG="$TMP/t.conf"

check "http server is up" test -n "$PORT"
run 0 tb theme add barnets-ratt --name "Barnets rätt"
run 0 tb theme add digital-inkludering --name "Digital inkludering"
run 0 tb theme add arbete-i-framtiden --name "Arbete i framtiden"

check "feed add http" run 0 tb feed add barnets-ratt "$B/feed.xml"
check "feed add the same URL again is refused" run 65 tb feed add barnets-ratt "$B/feed.xml"
check "feed add unknown theme" run 65 tb feed add nope "$B/feed.xml"
check "feed add ftp refused" run 65 tb feed add barnets-ratt "ftp://127.0.0.1/x"
check "feed add missing file refused" run 66 tb feed add barnets-ratt "$TMP/none.xml"
check "feed fetch" run 0 tb feed fetch barnets-ratt
check "... two new items" has "2 new" "$TMP/out"
check "item list --json" run 0 tb item list --theme barnets-ratt --json
check "items have the keys, Swedish text, absolute links, UTC dates" "$PY" -c '
import json, sys
items = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
assert len(items) == 2, items
for k in ("id", "feed", "guid", "title", "link", "author", "published", "updated", "sent"):
    assert k in items[0], k
assert items[0]["published"] > items[1]["published"]   # newest first
assert items[0]["title"].startswith("MSI lanserar"), items[0]["title"]
assert items[1]["author"] == "Mötesplats Social Innovation"
assert items[0]["link"].startswith("https://"), items[0]
assert items[0]["published"] == "2021-03-15T12:30:00Z", items[0]["published"]
assert items[0]["sent"] is False
' "$TMP/out"
check "second fetch: 304, nothing new" run 0 tb feed fetch barnets-ratt
check "... says not modified" has "not modified" "$TMP/out"
check "feed list shows the fetch" run 0 tb feed list --json
check "... status 304, no error, no failures" "$PY" -c '
import json, sys
f = json.loads(open(sys.argv[1]).readline())
assert f["last_status"] == 304 and f["last_error"] is None and f["failures"] == 0, f
assert f["title"] == "Mötesplats Social Innovation – Nyheter", f["title"]
' "$TMP/out"

check "permanent redirect" run 0 tb feed add digital-inkludering "$B/moved"
run 0 tb feed fetch digital-inkludering
check "... followed" has "2 new" "$TMP/out"
check "... and the URL updated" sh -c "'$TEMABREV' --db '$DB' feed list --theme digital-inkludering | grep -q '/feed.xml'"
check "308 also updates the URL" run 0 tb feed add arbete-i-framtiden "$B/moved308"
run 0 tb feed add arbete-i-framtiden "$B/temp"
run 0 tb feed fetch arbete-i-framtiden
check "... and a temporary redirect does not" sh -c "'$TEMABREV' --db '$DB' feed list --theme arbete-i-framtiden --json | grep -q '/temp\"'"
check "... a 302 is followed" has "/feed.xml" "$TMP/out"

run 0 tb theme add trygghet --name "Trygghet"
run 0 tb feed add trygghet "$B/flaky"
run 0 tb feed add trygghet "$B/gzip"
check "flaky feed first fetch" run 0 tb feed fetch trygghet
check "gzip-encoded feed is read" has "2 items ($B/gzip)" "$TMP/out"
check "flaky feed failing: exit 75" run 75 tb feed fetch trygghet
check "... names the URL and the reason" has "$B/flaky: HTTP 500" "$TMP/err"
check "... the other feed was still fetched" has "$B/gzip" "$TMP/out"
check "... earlier items stay" sh -c "'$TEMABREV' --db '$DB' item list --theme trygghet | grep -q Första"
check "... failure recorded" sh -c "'$TEMABREV' --db '$DB' feed list --theme trygghet --json | grep -q '\"failures\":1'"
check "... with its HTTP status" sh -c "'$TEMABREV' --db '$DB' feed list --theme trygghet --json | grep '/flaky\"' | grep -q '\"last_status\":500'"

run 0 tb theme add fel --name "Fel"
for p in error slow huge to-file bomb; do
	run 0 tb feed add fel "$B/$p"
done
check "failing feeds exit 75" run 75 tb feed fetch fel
check "500 reported" has "$B/error: HTTP 500" "$TMP/err"
check "a slow server times out" grep -q "$B/slow: .*[Tt]imeout\|$B/slow: .*timed out" "$TMP/err"
check "a huge feed is cut at max_size" has "$B/huge: larger than the 524288-byte limit" "$TMP/err"
check "a redirect to file: is refused" grep -q "$B/to-file: .*" "$TMP/err"
check "an entity bomb is refused" grep -qi "$B/bomb.*entit" "$TMP/err"
check "no item from the failures" sh -c "[ -z \"\$('$TEMABREV' --db '$DB' item list --theme fel)\" ]"

run 0 tb theme add gone --name "Gone"
run 0 tb feed add gone "$B/gone"
check "410 Gone deactivates the feed" run 0 tb feed fetch gone
check "... with a message" has "410 Gone" "$TMP/err"
check "... and it is inactive" sh -c "'$TEMABREV' --db '$DB' feed list --theme gone --json | grep -q '\"active\":false'"

run 0 tb theme add latin --name "Latin"
run 0 tb feed add latin "$B/latin1"
run 0 tb feed add latin "$B/malformed"
check "charset from Content-Type" run 0 tb feed fetch latin
check "... decoded to UTF-8" sh -c "'$TEMABREV' --db '$DB' item list --theme latin | grep -q 'Räksmörgås på Åland'"
check "ill-formed feed read in recovery mode, with a warning" has "recovery mode" "$TMP/err"

run 0 tb theme add changing --name "Changing"
run 0 tb feed add changing "$B/changing"
run 0 tb feed fetch changing
check "changed content updates the item" run 0 tb feed fetch changing
check "... counted as updated" has "0 new, 1 updated" "$TMP/out"
check "... never duplicated" sh -c "[ \"\$('$TEMABREV' --db '$DB' item list --theme changing | grep -c 'Samma artikel')\" = 1 ]"

check "feed fetch of all themes" run 75 tb feed fetch
check "feed rm" run 0 tb feed rm 1
check "... its items are gone" sh -c "[ -z \"\$('$TEMABREV' --db '$DB' item list --theme barnets-ratt)\" ]"
check "feed rm unknown" run 65 tb feed rm 999
check "feed rm not a number" run 64 tb feed rm x

check "a plain path becomes a file URL" run 0 tb feed add barnets-ratt "$FEED"
check "... fetched" run 0 tb feed fetch barnets-ratt
check "... two items" has "2 new" "$TMP/out"

# A feed long enough to fill the parser's ring: the text of each item is
# rendered on either thread (src/ingest.c); each must be its own item's.
run 0 tb theme add lang --name "Lång"
"$PY" - "$TMP/long.xml" <<'PY'
import sys
with open(sys.argv[1], "w", encoding="utf-8") as f:
    f.write('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/">'
            '<channel><title>Lång</title><link>https://example.se/</link>\n')
    for i in range(3000):
        body = "".join("<p>Stycke %d av artikel %d om jämlik hälsa, "
                       "barnets rätt och trygghet i offentlig miljö.</p>"
                       % (j, i) for j in range(8))
        summary = "" if i % 3 else "<p>Ingress %d</p>" % i
        content = "" if i % 5 == 0 else (
            '<content:encoded><![CDATA[%s<p><a href="/a/%d">Läs</a></p>]]>'
            '</content:encoded>' % (body, i))
        f.write('<item><title>Artikel %d</title><link>https://example.se/a/%d'
                '</link><guid>g%d</guid><description><![CDATA[%s]]>'
                '</description>%s</item>\n' % (i, i, i, summary, content))
    f.write('</channel></rss>\n')
PY
run 0 tb feed add lang "$TMP/long.xml"
printf '[feeds]\nmax_size = 16M\n' > "$TMP/long.conf"
check "a 3,000-item feed" run 0 env TEMABREV_CONFIG="$TMP/long.conf" \
    "$TEMABREV" --db "$DB" feed fetch lang
check "... 3000 new" has "3000 new" "$TMP/out"
check "... each item's text is its own" "$PY" - "$DB" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n = 0
for guid, text in db.execute("SELECT guid, text FROM item WHERE guid LIKE 'g%'"):
    i = int(guid[1:])
    if i % 5:
        assert "Stycke 7 av artikel %d " % i in text, (guid, text)
        assert "[1] https://example.se/a/%d\n" % i in text, (guid, text)
    elif i % 3 == 0:
        assert text == "Ingress %d\n" % i, (guid, text)
    else:
        assert text is None or text == "", (guid, text)
    n += 1
assert n == 3000, n
PY

done_testing
