/* Tiny assert framework: see minitest.h. */
#include "minitest.h"

#include <stdarg.h>

int mt_failures;
int mt_test_failed;
const char *mt_test_name = "";
static int tests_run, tests_failed;

void mt_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    mt_failures++;
    mt_test_failed = 1;
    fprintf(stderr, "FAIL %s (%s:%d): ", mt_test_name, file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void mt_run(const char *name, void (*fn)(void))
{
    mt_test_name = name;
    mt_test_failed = 0;
    fn();
    tests_run++;
    if (mt_test_failed)
        tests_failed++;
    printf("%s %s\n", mt_test_failed ? "not ok" : "ok", name);
}

int mt_summary(void)
{
    printf("# %d tests, %d failed, %d failed checks\n", tests_run, tests_failed, mt_failures);
    return tests_failed == 0 ? 0 : 1;
}
