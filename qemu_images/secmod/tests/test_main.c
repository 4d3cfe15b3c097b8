/* Host unit tests of the security module: one binary per build profile. */
#include <stdio.h>

#include "helpers.h"
#include "minitest.h"
#include "secmod_config.h"

int main(void)
{
#if defined(SECMOD_PROFILE_FAST)
    printf("# profile: fast");
#else
    printf("# profile: real");
#endif
#if defined(SECMOD_FIRST_FORCE_COLLECTION_INTERVAL)
    printf(" (first collection forced to %d)", SECMOD_FIRST_FORCE_COLLECTION_INTERVAL);
#endif
#if defined(SECMOD_QUIRK_LEAKY_STOP)
    printf(" + SECMOD_QUIRK_LEAKY_STOP");
#endif
    printf(" (PENDING_TIME %d, IPv4/IPv6 records %d/%d, page %u bytes)\n", SECMOD_PENDING_TIME,
           SECMOD_MAX_IPV4_RECORDS, SECMOD_MAX_IPV6_RECORDS, (unsigned)(SECMOD_PAGE_SIZE));
    suite_fb_builder();
    suite_serializer();
    suite_netparse();
    suite_netact();
    suite_schedule();
    suite_state();
    suite_quirk();
    suite_text();
    return mt_summary();
}
