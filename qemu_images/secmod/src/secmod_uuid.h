/*
 * Event ids (spec §2.3 Event.id): two 64-bit counters seeded once per boot from
 * the platform random source, both incremented per event. Not RFC 4122.
 */
#ifndef SECMOD_UUID_H
#define SECMOD_UUID_H

#include <stdint.h>

/* Next id: counter A then counter B, each as 8 little-endian bytes. */
void secmod_uuid_next(uint8_t id[16]);

#endif
