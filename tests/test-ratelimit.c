/*
 * Unit tests for ratelimit: the limit per window, a window's end, keys
 * kept apart, Retry-After, a clock set back, and the bound: a full table
 * forgets the oldest window first and never grows.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>

#include "ratelimit.h"
#include "tbtest.h"

/* {events at these times (0 ends), limit, expected result of each}. */
static const struct {
	int64_t	t[8];
	int64_t	limit;
	int	want[8];
} cases[] = {
	{ { 100, 101, 102, 103 }, 3, { 1, 1, 1, 0 } },
	{ { 100, 159, 160 }, 1, { 1, 0, 1 } },		/* window 60 */
	{ { 100, 100, 161, 161, 161 }, 2, { 1, 1, 1, 1, 0 } },
	{ { 500, 400, 400 }, 1, { 1, 1, 0 } },		/* clock set back */
};

START_TEST(test_windows)
{
	struct ratelimit *rl = ratelimit_new(8, 60);
	int64_t retry = -1;

	for (size_t i = 0; i < 8 && cases[_i].t[i] != 0; i++)
		ck_assert_int_eq(ratelimit_hit(rl, "k", cases[_i].limit,
		    cases[_i].t[i], &retry), cases[_i].want[i]);
	ratelimit_free(rl);
}
END_TEST

START_TEST(test_retry_and_keys)
{
	struct ratelimit *rl = ratelimit_new(8, 3600);
	int64_t retry = -1;

	ck_assert_int_eq(ratelimit_hit(rl, "198.51.100.7", 1, 1000, &retry),
	    1);
	ck_assert_int_eq(ratelimit_hit(rl, "198.51.100.7", 1, 1600, &retry),
	    0);
	ck_assert_int_eq(retry, 3000);
	ck_assert_int_eq(ratelimit_hit(rl, "198.51.100.8", 1, 1600, &retry),
	    1);
	ck_assert_int_eq(ratelimit_hit(rl, "198.51.100.7", 1, 4599, &retry),
	    0);
	ck_assert_int_eq(retry, 1);
	ck_assert_int_eq(ratelimit_hit(rl, "198.51.100.7", 1, 4600, &retry),
	    1);
	ratelimit_free(rl);
}
END_TEST

START_TEST(test_bounded)
{
	struct ratelimit *rl = ratelimit_new(4, 3600);
	int64_t retry;
	char key[32];

	/* k0..k3 fill the table, each at its limit. */
	for (int i = 0; i < 4; i++) {
		snprintf(key, sizeof key, "k%d", i);
		ck_assert_int_eq(ratelimit_hit(rl, key, 1, 100 + i, &retry),
		    1);
	}
	/* k4 forgets k0 (the oldest window), not k1..k3. */
	ck_assert_int_eq(ratelimit_hit(rl, "k4", 1, 200, &retry), 1);
	for (int i = 1; i < 4; i++) {
		snprintf(key, sizeof key, "k%d", i);
		ck_assert_int_eq(ratelimit_hit(rl, key, 1, 201, &retry), 0);
	}
	ck_assert_int_eq(ratelimit_hit(rl, "k0", 1, 202, &retry), 1);
	/* An ended window is the slot taken first. */
	ck_assert_int_eq(ratelimit_hit(rl, "k5", 1, 3702, &retry), 1);
	ck_assert_int_eq(ratelimit_hit(rl, "k4", 1, 3702, &retry), 0);
	ratelimit_free(rl);
	ratelimit_free(NULL);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("ratelimit");

	tcase_add_loop_test(tc, test_windows, 0,
	    sizeof cases / sizeof cases[0]);
	tcase_add_test(tc, test_retry_and_keys);
	tcase_add_test(tc, test_bounded);
	suite_add_tcase(s, tc);
	return tbtest_run(s);
}
