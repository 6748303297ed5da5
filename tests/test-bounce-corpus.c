/*
 * test-bounce-corpus: inbound_classify() against two peers' bounce
 * corpora in $TB_CORPUS/bounces (see its README.md for how each
 * EXPECTED.tsv was transcribed and how to score it), speaking TAP.
 *
 * flufl.bounce (GNU Mailman 3's detector):
 *  1. >= 90% of the files give exactly the expected set of permanently
 *     failed addresses (domains compared without case; every recipient
 *     of a BOUNCE counts: flufl's "permanent" is a failure, not a delay);
 *  2. no address at all from its warnings and non-bounces.
 * sisimai set-of-emails:
 *  3. >= 90% agreement on hard/soft per expected recipient: a 5.x.x
 *     expectation is met by our HARD or POLICY, a 4.x.x one by SOFT or
 *     by DELAYED (a delay warning acts on nobody: "soft" to us);
 *  4. every `feedback` file is a COMPLAINT (an opt-out that is a mail
 *     client's List-Unsubscribe message: see opt_out());
 *  5. no BOUNCE from its vacation, delivered and not-a-bounce files.
 * Misses are printed as "# miss:" lines for the next person
 * (doc/bounce-differences.md explains them). Every file, including those
 * without an expectation, goes through the classifier (no crash).
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounce.h"
#include "inbound.h"
#include "secret.h"
#include "tbtest.h"
#include "token.h"
#include "util.h"

static struct inbound_ctx ctx;

static struct inbound *
classify_file(const char *path)
{
	size_t len;
	char *raw = tbtest_read(path, &len);
	struct inbound *in = NULL;
	struct error err = { 0 };

	if (raw == NULL) {
		printf("# cannot read %s\n", path);
		return NULL;
	}
	if (inbound_classify(&ctx, raw, len, &in, &err) == -1) {
		printf("# %s: %s\n", path, err.msg);
		in = NULL;
	}
	free(raw);
	return in;
}

/* Lower-cases the domain of each space-separated address, in place. */
static void
lower_domains(char *s)
{
	int dom = 0;

	for (; *s != '\0'; s++) {
		if (*s == ' ')
			dom = 0;
		else if (*s == '@')
			dom = 1;
		else if (dom && *s >= 'A' && *s <= 'Z')
			*s = (char)(*s + 32);
	}
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Our failed addresses, sorted, space-separated; caller frees. */
static char *
our_set(const struct inbound *in)
{
	struct buf b = { 0 };
	char **v;
	size_t n;

	buf_addstr(&b, "");
	if (in == NULL || in->kind != INBOUND_BOUNCE || in->bounce == NULL)
		return buf_steal(&b);
	n = in->bounce->nrcpts;
	v = xcalloc(n + 1, sizeof *v);
	for (size_t i = 0; i < n; i++)
		v[i] = in->bounce->rcpts[i].address;
	qsort(v, n, sizeof *v, cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			buf_addc(&b, ' ');
		buf_addstr(&b, v[i]);
	}
	free(v);
	return buf_steal(&b);
}

struct expect {
	char	*file;
	char	*perm;		/* union of permanent rows, space-separated */
	int	 has_perm;	/* some row expects a permanent address */
};

static int
split_tabs(char *line, char **col, int max)
{
	int n = 0;

	line[strcspn(line, "\r\n")] = '\0';
	col[n++] = line;
	for (char *p = line; *p != '\0' && n < max; p++)
		if (*p == '\t') {
			*p = '\0';
			col[n++] = p + 1;
		}
	return n;
}

/* Merges addresses into e->perm, keeping it sorted and unique. */
static void
perm_add(struct expect *e, const char *addrs)
{
	char *all = xasprintf("%s %s", e->perm != NULL ? e->perm : "", addrs);
	char *v[64], *save = NULL;
	size_t n = 0;
	struct buf b = { 0 };

	lower_domains(all);
	for (char *t = strtok_r(all, " ", &save); t != NULL && n < 64;
	    t = strtok_r(NULL, " ", &save))
		v[n++] = t;
	qsort(v, n, sizeof *v, cmp_str);
	buf_addstr(&b, "");
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && strcmp(v[i], v[i - 1]) == 0)
			continue;
		if (b.len > 0)
			buf_addc(&b, ' ');
		buf_addstr(&b, v[i]);
	}
	free(e->perm);
	e->perm = buf_steal(&b);
	free(all);
}

static void
flufl(const char *root, int *ok1, int *ok2)
{
	char *dir = xasprintf("%s/flufl.bounce", root);
	char *path = xasprintf("%s/EXPECTED.tsv", dir);
	FILE *fp = fopen(path, "r");
	struct expect *ex = NULL;
	size_t nex = 0, pass = 0, quiet = 0, quiet_ok = 0;
	char line[4096], *col[6];

	if (fp == NULL || fgets(line, sizeof line, fp) == NULL) {
		printf("# cannot read %s\n", path);
		*ok1 = *ok2 = 0;
		goto done;
	}
	while (fgets(line, sizeof line, fp) != NULL) {
		if (split_tabs(line, col, 6) < 4)
			continue;
		size_t i;

		for (i = 0; i < nex; i++)
			if (strcmp(ex[i].file, col[0]) == 0)
				break;
		if (i == nex) {
			ex = xrealloc(ex, (nex + 1) * sizeof *ex);
			ex[nex].file = xstrdup(col[0]);
			ex[nex].perm = xstrdup("");
			ex[nex].has_perm = 0;
			nex++;
		}
		if (strcmp(col[2], "permanent") == 0 && strcmp(col[3], "-") != 0) {
			perm_add(&ex[i], col[3]);
			ex[i].has_perm = 1;
		}
	}
	for (size_t i = 0; i < nex; i++) {
		char *f = xasprintf("%s/flufl/bounce/tests/data/%s", dir,
		    ex[i].file);
		struct inbound *in = classify_file(f);
		char *got = our_set(in);
		int expected_row = strcmp(ex[i].file, "bounce_01.txt") != 0;

		if (expected_row) {
			if (strcmp(got, ex[i].perm) == 0)
				pass++;
			else
				printf("# miss: flufl %s: expected {%s}, got "
				    "{%s} (%s: %s)\n", ex[i].file, ex[i].perm,
				    got, in != NULL ? inbound_kind_name(in->kind)
				    : "-", in != NULL ? in->reason : "-");
			if (!ex[i].has_perm) {
				quiet++;
				if (*got == '\0')
					quiet_ok++;
			}
		}
		free(got);
		inbound_free(in);
		free(f);
	}
	nex--;	/* bounce_01 has no expectation */
	printf("# flufl.bounce: %zu of %zu files with exactly the expected "
	    "addresses (%.1f%%); %zu of %zu warnings/non-bounces quiet\n",
	    pass, nex, 100.0 * (double)pass / (double)nex, quiet_ok, quiet);
	*ok1 = nex > 100 && pass * 10 >= nex * 9;
	*ok2 = quiet > 5 && quiet_ok == quiet;
done:
	if (fp != NULL)
		fclose(fp);
	for (size_t i = 0; i <= nex && ex != NULL; i++) {
		free(ex[i].file);
		free(ex[i].perm);
	}
	free(ex);
	free(path);
	free(dir);
}

struct srow {
	char	*file;
	char	 status[16];
	char	*reason;
	char	*feedback;
	int	 hard;
	int	 index;
};

/*
 * An opt-out "report" that is a mail client's List-Unsubscribe mailto
 * message (Apple Mail: subject "unsubscribe") is an UNSUBSCRIBE when it
 * reaches our unsubscribe+TOKEN@ address; in the corpus it went to
 * another sender's address, so it is met by the unsubscribe command it
 * carries.
 */
static int
opt_out(const struct srow *r, const struct inbound *in)
{
	int all;

	return strcmp(r->feedback, "opt-out") == 0 && in != NULL &&
	    inbound_is_command(in->subject, &all);
}

static void
sisimai(const char *root, int *ok3, int *ok4, int *ok5)
{
	char *dir = xasprintf("%s/sisimai", root);
	char *path = xasprintf("%s/EXPECTED.tsv", dir);
	FILE *fp = fopen(path, "r");
	struct srow *rows = NULL;
	size_t nrows = 0, agree = 0, judged = 0, hard = 0, hard_ok = 0;
	size_t fb = 0, fb_ok = 0, quiet = 0, quiet_ok = 0, files = 0;
	char line[4096], *col[8];
	DIR *d = NULL;
	struct dirent *de;

	*ok3 = *ok4 = *ok5 = 0;
	if (fp == NULL || fgets(line, sizeof line, fp) == NULL) {
		printf("# cannot read %s\n", path);
		goto done;
	}
	while (fgets(line, sizeof line, fp) != NULL) {
		int split = split_tabs(line, col, 8);

		if (split < 6)
			continue;
		rows = xrealloc(rows, (nrows + 1) * sizeof *rows);
		rows[nrows].file = xstrdup(col[0]);
		rows[nrows].index = (int)strtol(col[1], NULL, 10);
		snprintf(rows[nrows].status, sizeof rows[nrows].status, "%s",
		    col[2]);
		rows[nrows].reason = xstrdup(col[4]);
		rows[nrows].feedback = xstrdup(split > 6 ? col[6] : "");
		rows[nrows].hard = strcmp(col[5], "true") == 0;
		nrows++;
	}
	/* Files in order of the table: rows of one file are adjacent. */
	for (size_t i = 0; i < nrows;) {
		size_t j = i;
		char *f = xasprintf("%s/set-of-emails/maildir/bsd/%s", dir,
		    rows[i].file);
		struct inbound *in = classify_file(f);
		int bounce = in != NULL && in->kind == INBOUND_BOUNCE;
		size_t n = bounce ? in->bounce->nrcpts : 0;

		files++;
		while (j < nrows && strcmp(rows[j].file, rows[i].file) == 0)
			j++;
		for (size_t k = i; k < j; k++) {
			const struct srow *r = &rows[k];

			if (strcmp(r->reason, "feedback") == 0) {
				if (k > i)
					continue;
				fb++;
				if (in != NULL && (in->kind ==
				    INBOUND_COMPLAINT || opt_out(r, in)))
					fb_ok++;
				else
					printf("# miss: sisimai %s: feedback "
					    "report read as %s\n", r->file, in ?
					    inbound_kind_name(in->kind) : "-");
				continue;
			}
			if (strcmp(r->reason, "vacation") == 0 ||
			    strcmp(r->reason, "delivered") == 0) {
				if (k > i)
					continue;
				quiet++;
				if (!bounce)
					quiet_ok++;
				else
					printf("# miss: sisimai %s: %s read as "
					    "a bounce\n", r->file, r->reason);
				continue;
			}
			judged++;
			/* Our recipient in the same place, else the last. */
			size_t at = (size_t)(r->index - 1) < n ?
			    (size_t)(r->index - 1) : n - 1;
			const struct bounce_rcpt *rc = n > 0 ?
			    &in->bounce->rcpts[at] : NULL;
			int want5 = r->status[0] == '5';
			/* A delay warning acts on nobody: that is "soft". */
			int delayed = in != NULL && in->kind ==
			    INBOUND_DELAYED;
			int ok = rc != NULL ? (want5 ? rc->verdict !=
			    BOUNCE_SOFT : rc->verdict == BOUNCE_SOFT) :
			    delayed && !want5;

			if (ok)
				agree++;
			else
				printf("# miss: sisimai %s #%d: expected %s "
				    "(%s), got %s%s%s (%s)\n", r->file,
				    r->index, r->status, r->reason,
				    rc != NULL ? rc->status : "no recipient",
				    rc != NULL ? " " : "", rc != NULL ?
				    bounce_verdict_name(rc->verdict) : "",
				    in != NULL ? in->reason : "-");
			if (r->hard) {
				hard++;
				if (rc != NULL && rc->verdict == BOUNCE_HARD)
					hard_ok++;
			}
		}
		inbound_free(in);
		free(f);
		i = j;
	}
	/* The not-a-bounce folder, and files without an expectation. */
	char *notdir = xasprintf("%s/set-of-emails/maildir/not", dir);

	d = opendir(notdir);
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char *f = xasprintf("%s/%s", notdir, de->d_name);
		struct inbound *in = classify_file(f);

		quiet++;
		if (in != NULL && in->kind != INBOUND_BOUNCE)
			quiet_ok++;
		else
			printf("# miss: sisimai not/%s read as a bounce\n",
			    de->d_name);
		inbound_free(in);
		free(f);
	}
	if (d != NULL)
		closedir(d);
	d = NULL;
	free(notdir);
	char *bsd = xasprintf("%s/set-of-emails/maildir/bsd", dir);
	size_t extra = 0;

	d = opendir(bsd);
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "lhost-aol-", 10) != 0)
			continue;
		char *f = xasprintf("%s/%s", bsd, de->d_name);

		inbound_free(classify_file(f));
		extra++;
		free(f);
	}
	if (d != NULL)
		closedir(d);
	d = NULL;
	free(bsd);
	printf("# sisimai: %zu files; hard/soft agreement %zu of %zu "
	    "recipients (%.1f%%); sisimai's hard bounces read as hard %zu "
	    "of %zu; complaints %zu of %zu; quiet %zu of %zu; %zu files "
	    "without expectation read\n", files, agree, judged,
	    judged ? 100.0 * (double)agree / (double)judged : 0.0, hard_ok,
	    hard, fb_ok, fb, quiet_ok, quiet, extra);
	*ok3 = judged > 500 && agree * 10 >= judged * 9;
	*ok4 = fb > 10 && fb_ok == fb;
	*ok5 = quiet > 5 && quiet_ok == quiet;
done:
	if (d != NULL)
		closedir(d);
	if (fp != NULL)
		fclose(fp);
	for (size_t i = 0; i < nrows; i++) {
		free(rows[i].file);
		free(rows[i].reason);
		free(rows[i].feedback);
	}
	free(rows);
	free(path);
	free(dir);
}

int
main(void)
{
	const char *corpus = getenv("TB_CORPUS");
	char *root = xasprintf("%s/bounces", corpus != NULL &&
	    *corpus != '\0' ? corpus : "../shared/corpus");
	char *readme = xasprintf("%s/README.md", root);
	char *spath;
	struct secret *sec = NULL;
	struct error err = { 0 };
	FILE *fp = fopen(readme, "r");
	int ok[6] = { 0 };

	if (fp == NULL) {
		printf("1..0 # SKIP corpus not found (%s)\n", readme);
		free(readme);
		free(root);
		return 0;
	}
	fclose(fp);
	spath = tbtest_path("secret");
	if (secret_open(spath, &sec, &err) == -1) {
		printf("Bail out! %s\n", err.msg);
		return 1;
	}
	ctx.tokens = token_new(sec);
	ctx.list_domain = "lists.example.org";
	printf("1..5\n");
	flufl(root, &ok[1], &ok[2]);
	sisimai(root, &ok[3], &ok[4], &ok[5]);
	printf("%s 1 - flufl.bounce: >= 90%% of files with exactly the "
	    "expected addresses\n", ok[1] ? "ok" : "not ok");
	printf("%s 2 - flufl.bounce: no address from warnings and "
	    "non-bounces\n", ok[2] ? "ok" : "not ok");
	printf("%s 3 - sisimai: >= 90%% hard/soft agreement\n", ok[3] ?
	    "ok" : "not ok");
	printf("%s 4 - sisimai: feedback reports are complaints\n", ok[4] ?
	    "ok" : "not ok");
	printf("%s 5 - sisimai: no bounce from vacation, delivered and "
	    "non-bounce files\n", ok[5] ? "ok" : "not ok");
	token_free(ctx.tokens);
	secret_free(sec);
	free(spath);
	free(readme);
	free(root);
	return 0;
}
