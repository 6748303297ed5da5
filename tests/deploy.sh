#!/bin/sh
# Installation (issue 6): make install DESTDIR=... puts the programs, the
# man pages, the templates, the examples and (when configured) the systemd
# unit in place; the installed temabrev runs with the installed templates
# and reads the example configuration; systemd-analyze accepts the unit;
# make uninstall takes every file away again.
. "${TB_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"

DEST="$TMP/dest"
# inst NAME: the one installed file called NAME, as a path under DEST.
inst() { find "$DEST" -name "$1" -type f | head -1; }

check "make install DESTDIR=... succeeds" \
    sh -c "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C '$TB_BUILDDIR' \
    install DESTDIR='$DEST' >'$TMP/install.log' 2>&1"
TB=$(inst temabrev)
TBD=$(inst temabrevd)
check "temabrev is installed, executable" test -x "$TB"
check "temabrevd is installed in sbin" sh -c "echo '$TBD' | grep -q /sbin/temabrevd$ && test -x '$TBD'"
for m in temabrev.1 temabrev.conf.5 temabrevd.8; do
	check "man page $m is installed" test -s "$(inst "$m")"
done
TPL=$(dirname "$(inst edition.sv.html)")
check "the templates are installed under share/temabrev/templates" \
    sh -c "echo '$TPL' | grep -q /share/temabrev/templates$"
ls "$TB_SRCDIR/templates" > "$TMP/tpl.want"
ls "$TPL" > "$TMP/tpl.got"
check "... every file of templates/" cmp "$TMP/tpl.want" "$TMP/tpl.got"
EX=$(inst temabrev.conf.example)
check "the example configuration is installed with the docs" \
    sh -c "echo '$EX' | grep -q /doc/temabrev/examples/temabrev.conf.example$"
check "... the crontab example next to it" test -s "$(inst crontab.example)"
check "... and doc/deployment.md" test -s "$(inst deployment.md)"

# The installed programs work from their installed files.
cat > "$TMP/t.conf" <<CONF
[general]
from = Mötesplats Social Innovation <nyhetsbrev@example.org>
list_domain = lists.example.org
base_url = https://lists.example.org
templates = $TPL
timezone = Europe/Stockholm
[smtp]
host = localhost
port = 2525
tls = none
CONF
export TEMABREV_CONFIG="$TMP/t.conf"
DB="$TMP/t.db"
cat > "$TMP/feed.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>MSI</title><link>https://msi.example.org/</link>
<description>d</description><item><title>Samverkan</title>
<link>https://msi.example.org/a1/</link><guid isPermaLink="false">a1</guid>
<description>Om samverkan.</description></item></channel></rss>
XML
check "the installed temabrev runs" run 0 "$TB" --version
check "... makes a theme, a feed and an edition" sh -c "
	'$TB' --db '$DB' theme add barn --name 'Barnets rätt' &&
	'$TB' --db '$DB' feed add barn '$TMP/feed.xml' &&
	'$TB' --db '$DB' feed fetch &&
	'$TB' --db '$DB' edition new barn" 
check "... and composes it with the installed templates" \
    run 0 "$TB" --db "$DB" edition preview 1
check "... the item is in the message" has "Samverkan" "$TMP/out"
check "the installed temabrevd -n accepts it, templates included" \
    run 0 "$TBD" -n --db "$DB"
check "... and refuses it without the installed templates (78)" sh -c "
	sed 's|^templates = .*|templates = $TMP/none|' '$TMP/t.conf' > '$TMP/b.conf'
	'$TBD' -n --db '$DB' --config '$TMP/b.conf' >/dev/null 2>&1; [ \$? -eq 78 ]"
check "the installed example configuration is valid" \
    run 0 "$TB" --config "$EX" --db "$TMP/ex.db" theme list

# The unit.
if [ -n "${TB_UNITDIR:-}" ]; then
	UNIT="$DEST$TB_UNITDIR/temabrevd.service"
	check "the unit is installed in $TB_UNITDIR" test -s "$UNIT"
else
	UNIT="$TB_BUILDDIR/dist/temabrevd.service"
	echo "# configured without a systemd unit directory: checking the built unit"
fi
EXEC=$(sed -n 's/^ExecStart=\([^ ]*\) .*/\1/p' "$UNIT")
check "the unit runs the installed temabrevd in the foreground" \
    sh -c "grep -q '^ExecStart=$EXEC -f$' '$UNIT' && test -x '$DEST$EXEC'"
check "... as temabrev, umask 0007, reload by SIGHUP" sh -c "
	grep -q '^User=temabrev$' '$UNIT' && grep -q '^Group=temabrev$' '$UNIT' &&
	grep -q '^UMask=0007$' '$UNIT' &&
	grep -q '^ExecReload=/bin/kill -HUP \$MAINPID$' '$UNIT'"
check "... no @variable@ left" sh -c "! grep -q '@[a-z]*@' '$UNIT'"
SA=${TB_SYSTEMD_ANALYZE:-}
[ -z "$SA" ] && SA=$(command -v systemd-analyze 2>/dev/null)
if [ -n "$SA" ]; then
	# The unit names the final paths; point them into DESTDIR to verify.
	sed "s|$EXEC|$DEST$EXEC|g" "$UNIT" > "$TMP/temabrevd.service"
	check "systemd-analyze verify accepts the unit" \
	    run 0 "$SA" verify --man=no "$TMP/temabrevd.service"
	check "... without a warning" test ! -s "$TMP/err"
else
	echo "# systemd-analyze not found: the unit is not verified"
fi

check "make uninstall DESTDIR=... removes every file" sh -c "
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C '$TB_BUILDDIR' \
	    uninstall DESTDIR='$DEST' >'$TMP/uninstall.log' 2>&1 &&
	[ \$(find '$DEST' -type f | wc -l) -eq 0 ]"

done_testing
