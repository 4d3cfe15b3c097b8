/*
 * Collectors and the collection schedule (spec §1.2, §1.5): NetworkActivity
 * (10 s), SystemInformation (60 s), Heartbeat (60 s). One cycle collects every
 * due collector into one message, built into the single static page.
 */
#ifndef SECMOD_COLLECT_H
#define SECMOD_COLLECT_H

#include <stddef.h>
#include <stdint.h>

/* Enable: first collection of all collectors at one base instant. */
void secmod_collect_start(uint32_t now);
/* Resume after SUSPENDED: all collectors stale, collected at now + 1. */
void secmod_collect_resume(uint32_t now);
/* Unix second at which the next cycle is due. */
uint32_t secmod_collect_deadline(void);
/* Seconds from enable to the first collection chosen by the last start. */
int32_t secmod_collect_first_offset(void);

enum {
    SECMOD_CYCLE_EMPTY = 0,    /* nothing to publish */
    SECMOD_CYCLE_MESSAGE = 1,  /* *msg and *len hold the new message (valid until the next cycle) */
    SECMOD_CYCLE_TOO_BIG = -1, /* built but did not fit the page: dropped */
};

int secmod_collect_cycle(uint32_t now, const uint8_t **msg, size_t *len);

#endif
