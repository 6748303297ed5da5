#!/bin/sh
# End-to-end tests of DKIM signing (issue 8): real editions sent by
# temabrev with [dkim] on to tests/smtpd.py (aiosmtpd) on 127.0.0.1, every
# captured message verified by an independent verifier (python3-dkim, via
# tests/dkim-verify.py, the public key given through its DNS hook), and
# shown to fail once its Subject, List-Unsubscribe or a body byte changes.
# The messages are the shapes of tests/send.sh (Swedish names and subjects
# as encoded-words, injection attempts, long folded headers, an intro line
# far over 998 octets), also checked by tests/send-check.py. Then bad keys
# (refused before anything is queued), a theme's own From domain with its
# own key, temabrev dkim keygen and temabrev dkim check.
. "${TB_SRCDIR:-$(dirname "$0")/..}/tests/lib.sh"
. "$TB_SRCDIR/tests/servers.sh"

VERIFY="$TB_SRCDIR/tests/dkim-verify.py"
CHECK="$TB_SRCDIR/tests/send-check.py"
need_smtpd
"$PY" -c 'import dkim' 2>/dev/null || skip_all "python3-dkim not installed"

# mkconf FILE PORT: [general] and [smtp] (appended sections add to it).
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
count() { ls "$1" | wc -l | tr -d ' '; }
# unsign SRC DST: copies of the messages without their DKIM-Signature, for
# tests/send-check.py, which allows temabrev's own headers only.
unsign() {
	mkdir -p "$2"
	"$PY" - "$1" "$2" <<'PY'
import os, re, sys
src, dst = sys.argv[1:3]
files = [src] if os.path.isfile(src) else [os.path.join(src, f)
                                          for f in os.listdir(src)]
for f in files:
    data = open(f, "rb").read()
    data = re.sub(rb"(?m)^DKIM-Signature:.*\r\n([ \t].*\r\n)*", b"", data,
                  count=1)
    open(os.path.join(dst, os.path.basename(f)), "wb").write(data)
PY
}
tbt() { timeout 120 "$TEMABREV" --db "$DB" "$@"; }
# verify DIR_OR_FILES... [--domain D ...]: the independent verifier.
verify() {
	"$PY" "$VERIFY" --key "s2026._domainkey.example.org=$KEYS/s2026.txt" \
	    --key "ed._domainkey.example.net=$KEYS/ed.txt" \
	    --cover From --cover Subject --cover List-Unsubscribe \
	    --cover List-Unsubscribe-Post --cover List-Id --cover Date \
	    --cover Message-ID --cover To --cover Reply-To \
	    --cover Content-Type --cover MIME-Version "$@"
}

# ---------------------------------------------------------------------
# Keys: temabrev dkim keygen (one for example.org, one for example.net).
# ---------------------------------------------------------------------
KEYS="$TMP/keys"
check "dkim keygen: an RSA key pair" \
    run 0 "$TEMABREV" dkim keygen --domain example.org --selector s2026 \
    --out "$KEYS"
check "... prints the TXT record to publish" \
    has 's2026._domainkey.example.org.	IN	TXT	( "v=DKIM1; k=rsa; "' \
    "$TMP/out"
check "... the private key is mode 0600" \
    test "$(stat -c %a "$KEYS/s2026.private")" = 600
check "... every TXT string within 255 octets" sh -c "
	grep -o '\"[^\"]*\"' '$KEYS/s2026.txt' | awk 'length(\$0) > 257 { exit 1 }'"
check "dkim keygen again: refuses to overwrite (exit 73)" \
    run 73 "$TEMABREV" dkim keygen --domain example.org --selector s2026 \
    --out "$KEYS"
check "... naming --force" has "--force" "$TMP/err"
check "dkim keygen --bits 3072 for example.net" \
    run 0 "$TEMABREV" dkim keygen --domain example.net --selector ed \
    --out "$KEYS" --bits 3072
check "dkim keygen --type ed25519: refused (libopendkim 2.11 leaks)" \
    run 64 "$TEMABREV" dkim keygen --domain example.net --selector e2 \
    --out "$KEYS" --type ed25519
check "... saying why" has "leaks memory on every Ed25519 signature" \
    "$TMP/err"

# ---------------------------------------------------------------------
# A: the edition of tests/send.sh, signed, preview, test copy and send.
# ---------------------------------------------------------------------
smtpd_start a
check "smtp capture server is up" test -n "$SPORT"
mkconf "$TMP/a.conf" "$SPORT"
cat >> "$TMP/a.conf" <<CONF
[dkim]
domain = example.org
selector = s2026
key_file = $KEYS/s2026.private
CONF
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
lang@example.org,Karl-Johan Maximilian Bernadotte af Wisborg Öhrström-Åkerlund Lindqvist,barnets-ratt
CSV
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
	printf 'lang@example.org\tKarl-Johan Maximilian Bernadotte af Wisborg Öhrström-Åkerlund Lindqvist\n'
} > "$TMP/a.tsv"
check "ten subscribers imported" run 0 tb sub import "$TMP/a.csv"
run 0 tb feed add barnets-ratt "$TB_SRCDIR/demo/feed.xml"
check "feed fetched" run 0 tb feed fetch
{
	printf 'Hej allihop,\r\nBcc: evil4@example.org\r\n\r\n.\r\n\r\n'
	printf 'From nobody Mon Mar 15\r\n\r\nLång rad: '
	i=0; while [ $i -lt 150 ]; do printf 'åäöÅÄÖxyz'; i=$((i + 1)); done
	printf '\r\n\r\nVänliga hälsningar, MSI\r\n'
} > "$TMP/intro.txt"
SUBJ='Nyheter från MSI: ”barnets rätt” =?UTF-8?B?QmNjOiBldmlsQGV4YW1wbGUub3Jn?= & mer om åäö ÅÄÖ i samhället, en lång rubrik som måste vikas över flera rader, hösten 2026'
check "edition new (Swedish subject, long intro line)" \
    run 0 tb edition new barnets-ratt --subject "$SUBJ" --intro "$TMP/intro.txt"

check "edition preview shows the signed message" \
    run 0 tb edition preview 1 --to greta.holm@example.org
cp "$TMP/out" "$TMP/preview.eml"
check "... DKIM-Signature first" sh -c "head -1 '$TMP/preview.eml' | grep -q '^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org;'"
check "... and it verifies (python3-dkim)" verify --domain example.org \
    "$TMP/preview.eml"
unsign "$TMP/preview.eml" "$TMP/unsigned-preview"
check "... the message otherwise as before (send-check.py)" \
    "$PY" "$CHECK" --preview "$TMP/unsigned-preview/preview.eml" --slug barnets-ratt \
    --base-url https://lists.example.org --subject "$SUBJ" \
    --name 'Greta "Gigi" Holm'

check "edition test --to a reviewer" \
    run 0 tbt edition test 1 --to granskare@example.org
check "... the test copy verifies" verify --domain example.org \
    "$MA/granskare@example.org"
rm -f "$MA/granskare@example.org"

check "edition send says it signs" run 0 tbt edition send 1
check "... DKIM: signing as d=example.org s=s2026" \
    has "DKIM: signing as d=example.org s=s2026 (rsa-sha256)" "$TMP/out"
check "... ten sent" has "10 sent, 0 failed, 0 deferred" "$TMP/out"
check "every message verifies; changed Subject, List-Unsubscribe, body fail" \
    verify --domain example.org --min 10 "$MA"
unsign "$MA" "$TMP/unsigned-a"
check "... and is the message tests/send.sh checks" \
    "$PY" "$CHECK" "$TMP/unsigned-a" --expect "$TMP/a.tsv" --slug barnets-ratt \
    --base-url https://lists.example.org --subject "$SUBJ" --tls no
check "... the long name's To header is folded (and still verifies)" \
    grep -q '^ ' "$MA/lang@example.org"
check "the verifier itself fails a message signed by another key" sh -c "
	'$TEMABREV' dkim keygen --domain example.org --selector other \
	    --out '$TMP/other' >/dev/null &&
	! '$PY' '$VERIFY' --key 's2026._domainkey.example.org=$TMP/other/other.txt' \
	    '$MA/anna.svensson@example.org' >/dev/null"
check "the verifier itself fails an unsigned message" sh -c "
	sed '/^DKIM-Signature:/,/^[^ \t]/{/^DKIM-Signature:/d;/^[ \t]/d}' \
	    '$MA/anna.svensson@example.org' > '$TMP/unsigned.eml'
	! grep -q DKIM-Signature '$TMP/unsigned.eml' &&
	! '$PY' '$VERIFY' --key 's2026._domainkey.example.org=$KEYS/s2026.txt' \
	    '$TMP/unsigned.eml' >/dev/null"

# ---------------------------------------------------------------------
# B: a theme with its own From on another domain, signed by its own
# [dkim DOMAIN] section; no one-click (no base_url).
# ---------------------------------------------------------------------
smtpd_start b
mkconf "$TMP/b.conf" "$SPORT"
sed -i '/^base_url/d' "$TMP/b.conf"
cat >> "$TMP/b.conf" <<CONF
[dkim]
domain = example.org
selector = s2026
key_file = $KEYS/s2026.private
[dkim example.net]
selector = ed
key_file = $KEYS/ed.private
CONF
export TEMABREV_CONFIG="$TMP/b.conf"
DB="$TMP/b.db"
run 0 tb theme add digital-inkludering --name "Digital inkludering"
run 0 tb theme edit digital-inkludering \
    --from "Nätverket för digital inkludering <info@example.net>"
run 0 tb sub add asa@example.org --name "Åsa Öberg" --theme digital-inkludering
run 0 tb sub add per@example.se --name "Per Ågren" --theme digital-inkludering
run 0 tb feed add digital-inkludering "$TB_SRCDIR/demo/feed.xml"
run 0 tb feed fetch
run 0 tb edition new digital-inkludering
check "a theme From example.net: signed by [dkim example.net]" \
    run 0 tbt edition send 1
check "... as d=example.net s=ed" \
    has "DKIM: signing as d=example.net s=ed (rsa-sha256)" "$TMP/out"
check "... both verify (no List-Unsubscribe-Post: oversigned, absent)" \
    "$PY" "$VERIFY" --key "ed._domainkey.example.net=$KEYS/ed.txt" \
    --domain example.net --cover List-Unsubscribe \
    --cover List-Unsubscribe-Post --min 2 "$TMP/b"
check "... an added List-Unsubscribe-Post breaks the signature" sh -c "
	sed '0,/^List-Unsubscribe:/s//List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\nList-Unsubscribe:/' \
	    '$TMP/b/asa@example.org' > '$TMP/added.eml'
	grep -q '^List-Unsubscribe-Post' '$TMP/added.eml' &&
	! '$PY' '$VERIFY' --key 'ed._domainkey.example.net=$KEYS/ed.txt' \
	    '$TMP/added.eml' >/dev/null"

# ---------------------------------------------------------------------
# C: bad keys are configuration errors before anything is queued.
# ---------------------------------------------------------------------
smtpd_start c
mkconf "$TMP/c.conf" "$SPORT"
export TEMABREV_CONFIG="$TMP/c.conf"
DB="$TMP/c.db"
run 0 tb theme add trygghet --name "Trygghet"
run 0 tb sub add anna@example.org --name "Anna" --theme trygghet
run 0 tb feed add trygghet "$TB_SRCDIR/demo/feed.xml"
run 0 tb feed fetch
run 0 tb edition new trygghet
cp "$KEYS/s2026.private" "$TMP/open.private"
chmod 644 "$TMP/open.private"
printf 'inte en nyckel\n' > "$TMP/junk.private"
chmod 600 "$TMP/junk.private"
for case in "missing:$TMP/nonexistent.private:No such file" \
    "world-readable:$TMP/open.private:world-readable" \
    "not a key:$TMP/junk.private:not a key"; do
	what=${case%%:*}; rest=${case#*:}; file=${rest%%:*}; why=${rest#*:}
	mkconf "$TMP/c.conf" "$SPORT"
	printf '[dkim]\ndomain = example.org\nselector = s2026\nkey_file = %s\n' \
	    "$file" >> "$TMP/c.conf"
	check "key $what: edition send exits 78" run 78 tbt edition send 1
	check "... naming the file and why" sh -c "grep -q '$file' '$TMP/err' &&
	    grep -q '$why' '$TMP/err'"
	check "... one line" test "$(wc -l < "$TMP/err")" -eq 1
	check "key $what: edition test exits 78" \
	    run 78 tbt edition test 1 --to anna@example.org
	check "key $what: edition preview exits 78" run 78 tb edition preview 1
	check "key $what: dkim check exits 78" run 78 "$TEMABREV" dkim check --no-dns
done
check "... nothing was queued" sh -c "'$TEMABREV' --db '$DB' edition show 1 --json |
	grep -Eq '\"status\": *\"draft\"'"
check "... nothing was sent" test "$(count "$TMP/c")" -eq 0
mkconf "$TMP/c.conf" "$SPORT"
printf '[dkim example.net]\nselector = ed\nkey_file = %s\n' \
    "$KEYS/ed.private" >> "$TMP/c.conf"
check "a From domain no key covers: edition send exits 78" \
    run 78 tbt edition send 1
check "... saying which domain" has "no DKIM key for example.org" "$TMP/err"
mkconf "$TMP/c.conf" "$SPORT"
check "without [dkim]: edition send --dry-run says it does not sign" \
    run 0 tbt edition send 1 --dry-run
check "... clearly" has "DKIM: not signing ([dkim] is not configured)" \
    "$TMP/out"
check "... and the message goes out unsigned" sh -c "
	'$TEMABREV' --db '$DB' edition preview 1 > '$TMP/plain.eml' &&
	grep -q '^From: ' '$TMP/plain.eml' && ! grep -q DKIM-Signature '$TMP/plain.eml'"

# ---------------------------------------------------------------------
# D: temabrev dkim check.
# ---------------------------------------------------------------------
export TEMABREV_CONFIG="$TMP/b.conf"
check "dkim check --no-dns: both keys" run 0 "$TEMABREV" dkim check --no-dns
check "... signs and verifies against each record file" sh -c "
	grep -c 'sample message: signed, verifies against $KEYS/' '$TMP/out' |
	grep -qx 2"
check "... a changed Subject fails" has "changed Subject: fails, as it must" \
    "$TMP/out"
check "... [general] from is aligned" \
    has "From example.org ([general] from): signed as d=example.org, aligned" \
    "$TMP/out"
check "... ok" has "dkim check: ok" "$TMP/out"
check "dkim check (DNS asked, bounded by --timeout)" sh -c "
	timeout 60 '$TEMABREV' dkim check --timeout 2 > '$TMP/dns.out' 2>&1
	rc=\$?
	# This host may or may not resolve names; either way the DNS line
	# says what happened, and only a published record could verify.
	grep -q 'DNS s2026._domainkey.example.org: ' '$TMP/dns.out' &&
	{ [ \$rc -eq 0 ] || [ \$rc -eq 69 ] || [ \$rc -eq 65 ]; }"
cp "$KEYS/s2026.txt" "$TMP/s2026.txt.good"
cp "$TMP/other/other.txt" "$KEYS/s2026.txt"
check "dkim check: a record file of another key fails (exit 65)" \
    run 65 "$TEMABREV" dkim check --no-dns
check "... saying so" has "does NOT verify against $KEYS/s2026.txt" "$TMP/out"
cp "$TMP/s2026.txt.good" "$KEYS/s2026.txt"
export TEMABREV_CONFIG="$TMP/c.conf"
check "dkim check without [dkim]: exit 78, the relay must sign" \
    run 78 "$TEMABREV" dkim check
check "... clearly" has "temabrev sends its mail unsigned" "$TMP/err"

done_testing
