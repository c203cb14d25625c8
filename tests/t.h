/* tests/t.h - the unit-test harness.
 *
 *	static void test_something(void)
 *	{
 *		T_ASSERT(x == 1);
 *		T_EQ_INT(rc, -ENOENT);
 *		T_EQ_STR(name, "pve1");
 *	}
 *
 *	int main(int argc, char **argv)
 *	{
 *		t_init(argc, argv);
 *		T_RUN(test_something);
 *		return t_done();
 *	}
 *
 * A test passes when none of its checks failed.  t_done() prints
 * "<program>: N passed, N failed" and returns 0 only if nothing failed.
 * A failed check prints file:line and what it compared, and the test goes
 * on (so one run shows every broken check).  "prog -k NAME" runs only the
 * tests whose name contains NAME.  t_tmpdir() gives a fresh directory
 * under $TMPDIR that t_done() removes.
 */
#ifndef TESTS_T_H
#define TESTS_T_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

extern int t_failed_checks; /* failed checks in the current test */

void t_init(int argc, char **argv);
void t_run(const char *name, void (*fn)(void));
int t_done(void);
void t_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const char *t_tmpdir(void); /* a new empty directory for this test */

#define T_RUN(fn) t_run(#fn, fn)

#define T_ASSERT(c)                                           \
	do {                                                  \
		if (!(c))                                     \
			t_fail(__FILE__, __LINE__, "%s", #c); \
	} while (0)

#define T_EQ_INT(a, b)                                                                            \
	do {                                                                                      \
		long long t_a_ = (long long)(a), t_b_ = (long long)(b);                           \
		if (t_a_ != t_b_)                                                                 \
			t_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, t_a_, t_b_); \
	} while (0)

#define T_EQ_STR(a, b)                                                                   \
	do {                                                                             \
		const char *t_a_ = (a), *t_b_ = (b);                                     \
		if (!t_a_ || !t_b_ || strcmp(t_a_, t_b_))                                \
			t_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b, \
			       t_a_ ? t_a_ : "(null)", t_b_ ? t_b_ : "(null)");          \
	} while (0)

#define T_EQ_MEM(a, b, n)                                                                        \
	do {                                                                                     \
		if (memcmp((a), (b), (n)))                                                       \
			t_fail(__FILE__, __LINE__, "%s == %s (%zu bytes)", #a, #b, (size_t)(n)); \
	} while (0)

#endif /* TESTS_T_H */
