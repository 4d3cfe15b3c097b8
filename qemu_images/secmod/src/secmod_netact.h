/*
 * NetworkActivity collector: per IP version one object pool and two window
 * tables used alternately (spec §1.3, §1.4). The public entry points
 * secmod_observe_ipv4/ipv6() (secmod.h) live here.
 */
#ifndef SECMOD_NETACT_H
#define SECMOD_NETACT_H

#include <stdint.h>

#include "secmod_flowtab.h"

/* Start observing with empty windows (enable, resume). */
void secmod_netact_start(void);
/* Stop observing and free both windows (suspend, disable). */
void secmod_netact_stop(void);

/*
 * Collection: swap the windows (new packets go to the other, empty table) and
 * hand out the finished ones. secmod_netact_collect_end() frees them.
 * Returns the number of records in the finished windows.
 */
unsigned secmod_netact_collect_begin(const secmod_flowtab_t **v4, const secmod_flowtab_t **v6);
void secmod_netact_collect_end(void);

/*
 * Forget everything as a reboot would, including objects leaked under
 * SECMOD_QUIRK_LEAKY_STOP (host tests; unused by the firmware).
 */
void secmod_netact_reboot(void);

/* Packets not recorded because the pool was empty, since the last reset (enable). */
uint32_t secmod_netact_records_dropped(void);
void secmod_netact_reset_stats(void);
/* Pool objects free right now (tests and diagnostics). */
unsigned secmod_netact_free_ipv4(void);
unsigned secmod_netact_free_ipv6(void);

#endif
