/*
 * A tiny assert framework for the host unit tests (written for this project).
 * CHECK* record a failure and continue; REQUIRE* also leave the current test.
 */
#ifndef MINITEST_H
#define MINITEST_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

extern int mt_failures;     /* failed checks in total */
extern int mt_test_failed;  /* current test had a failure */
extern const char *mt_test_name;

void mt_fail(const char *file, int line, const char *fmt, ...);
void mt_run(const char *name, void (*fn)(void));
int mt_summary(void);

#define RUN_TEST(fn) mt_run(#fn, fn)

#define CHECK(cond)                                                                             \
    do {                                                                                        \
        if (!(cond))                                                                            \
            mt_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                                    \
    } while (0)

#define REQUIRE(cond)                                                                           \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            mt_fail(__FILE__, __LINE__, "REQUIRE(%s)", #cond);                                  \
            return;                                                                             \
        }                                                                                       \
    } while (0)

#define CHECK_EQ(a, b)                                                                          \
    do {                                                                                        \
        unsigned long long mt_a_ = (unsigned long long)(a), mt_b_ = (unsigned long long)(b);    \
        if (mt_a_ != mt_b_)                                                                     \
            mt_fail(__FILE__, __LINE__, "CHECK_EQ(%s, %s): %llu != %llu", #a, #b, mt_a_,        \
                    mt_b_);                                                                     \
    } while (0)

#define REQUIRE_EQ(a, b)                                                                        \
    do {                                                                                        \
        unsigned long long mt_a_ = (unsigned long long)(a), mt_b_ = (unsigned long long)(b);    \
        if (mt_a_ != mt_b_) {                                                                   \
            mt_fail(__FILE__, __LINE__, "REQUIRE_EQ(%s, %s): %llu != %llu", #a, #b, mt_a_,      \
                    mt_b_);                                                                     \
            return;                                                                             \
        }                                                                                       \
    } while (0)

#define CHECK_MEM(a, b, n)                                                                      \
    do {                                                                                        \
        if (memcmp((a), (b), (n)) != 0)                                                         \
            mt_fail(__FILE__, __LINE__, "CHECK_MEM(%s, %s, %s) differs", #a, #b, #n);           \
    } while (0)

#define CHECK_STR(a, b)                                                                         \
    do {                                                                                        \
        const char *mt_sa_ = (a), *mt_sb_ = (b);                                                \
        if (mt_sa_ == NULL || mt_sb_ == NULL || strcmp(mt_sa_, mt_sb_) != 0)                    \
            mt_fail(__FILE__, __LINE__, "CHECK_STR(%s, %s): \"%s\" != \"%s\"", #a, #b,          \
                    mt_sa_ ? mt_sa_ : "(null)", mt_sb_ ? mt_sb_ : "(null)");                    \
    } while (0)

#endif
