/*
 * Compile-time configuration of the security module (the ASC_* macros of the
 * real module, renamed SECMOD_*). Every value can be overridden with -D.
 *
 * Profiles:
 *   default                real timings (RTOS_BASE of NetX Duo 6.2/6.3)
 *   -DSECMOD_PROFILE_FAST  first collection forced to +2 s and PENDING_TIME 20 s;
 *                          nothing else changes.
 *
 * A firmware may also pass -DSECMOD_PORT_HEADER="\"my_port.h\"" to have a header
 * of its own included first (e.g. to define SECMOD_LOCK/SECMOD_UNLOCK).
 */
#ifndef SECMOD_CONFIG_H
#define SECMOD_CONFIG_H

#ifdef SECMOD_PORT_HEADER
#include SECMOD_PORT_HEADER
#endif

#ifdef SECMOD_PROFILE_FAST
#ifndef SECMOD_FIRST_FORCE_COLLECTION_INTERVAL
#define SECMOD_FIRST_FORCE_COLLECTION_INTERVAL 2
#endif
#ifndef SECMOD_PENDING_TIME
#define SECMOD_PENDING_TIME 20
#endif
#endif

/* Envelope (inc/configs/RTOS_BASE/asc_config.h of 3.5.4). */
#ifndef SECMOD_SECURITY_MODULE_ID
#define SECMOD_SECURITY_MODULE_ID "defender-iot-micro-agent"
#endif
#ifndef SECMOD_VERSION_MAJOR
#define SECMOD_VERSION_MAJOR 3
#endif
#ifndef SECMOD_VERSION_MINOR
#define SECMOD_VERSION_MINOR 5
#endif
#ifndef SECMOD_VERSION_PATCH
#define SECMOD_VERSION_PATCH 4
#endif
#define SECMOD_VERSION_WORD                                                   \
    ((((uint32_t)(SECMOD_VERSION_MAJOR)&0xFFu) << 24) |                       \
     (((uint32_t)(SECMOD_VERSION_MINOR)&0xFFu) << 16) |                       \
     ((uint32_t)(SECMOD_VERSION_PATCH)&0xFFFFu))

/* SystemInformation.os_info: "Azure RTOS " + ThreadX major.minor. */
#ifndef SECMOD_OS_INFO
#define SECMOD_OS_INFO "Azure RTOS 6.2"
#endif

/* Telemetry property bag, already URL-encoded, in wire order (spec §2.1). */
#ifndef SECMOD_PROPERTY_BAG
#define SECMOD_PROPERTY_BAG                                                   \
    "mti=2.3-1-0-0&%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1"
#endif

/* State machine (seconds). */
#ifndef SECMOD_SEND_MESSAGE_RETRY_TIME
#define SECMOD_SEND_MESSAGE_RETRY_TIME 3
#endif
#ifndef SECMOD_PENDING_TIME
#define SECMOD_PENDING_TIME 300
#endif

/* Schedule (seconds). SECMOD_FIRST_FORCE_COLLECTION_INTERVAL is unset by default. */
#ifndef SECMOD_FIRST_COLLECTION_INTERVAL
#define SECMOD_FIRST_COLLECTION_INTERVAL 30
#endif
#ifndef SECMOD_HIGH_PRIORITY_INTERVAL
#define SECMOD_HIGH_PRIORITY_INTERVAL 10
#endif
#ifndef SECMOD_LOW_PRIORITY_INTERVAL
#define SECMOD_LOW_PRIORITY_INTERVAL 60
#endif

/* NetworkActivity object pools (per IP version; 0 disables that version). */
#ifndef SECMOD_MAX_IPV4_RECORDS
#define SECMOD_MAX_IPV4_RECORDS 64
#endif
#ifndef SECMOD_MAX_IPV6_RECORDS
#define SECMOD_MAX_IPV6_RECORDS 64
#endif

/* Optional protocol filters (ASC_COLLECTOR_NETWORK_ACTIVITY_*_DISABLED):
 * define SECMOD_NETWORK_ACTIVITY_TCP_DISABLED / _UDP_ / _ICMP_ to drop one. */

/*
 * Serializer page: the whole message is built back to front in this one static
 * buffer. The default holds the largest possible message (both pools full,
 * UDP-sized records, SystemInformation and Heartbeat) with room to spare; see
 * secmod_serializer.h for the per-record sizes.
 */
#ifndef SECMOD_PAGE_SIZE
#define SECMOD_PAGE_SIZE                                                      \
    (1024u + 44u * (unsigned)(SECMOD_MAX_IPV4_RECORDS) +                       \
     68u * (unsigned)(SECMOD_MAX_IPV6_RECORDS))
#endif

/*
 * Observation hooks and the collector may run on different threads in a
 * firmware. The real module takes no lock (spec §6.3); a port may define these
 * (e.g. to mask interrupts or take a mutex) in SECMOD_PORT_HEADER.
 */
#ifndef SECMOD_LOCK
#define SECMOD_LOCK() ((void)0)
#endif
#ifndef SECMOD_UNLOCK
#define SECMOD_UNLOCK() ((void)0)
#endif

/*
 * Quirk §6.1 of the real module (stop path leaves the outbound hook installed
 * and every outbound packet afterwards leaks one pool object). OFF by default:
 * suspend/disable remove the hooks cleanly. Define SECMOD_QUIRK_LEAKY_STOP to
 * reproduce it.
 */

/*
 * Diagnostics through secmod_platform_log(): state changes, enable, drops.
 * SECMOD_NO_LOG compiles them out; SECMOD_LOG_DEBUG adds one line per sent
 * message (debug level in the real module).
 */
#ifdef SECMOD_NO_LOG
#define SECMOD_LOG(...) ((void)0)
#else
#define SECMOD_LOG(...) secmod_platform_log(__VA_ARGS__)
#endif
#if defined(SECMOD_LOG_DEBUG) && !defined(SECMOD_NO_LOG)
#define SECMOD_DEBUG(...) secmod_platform_log(__VA_ARGS__)
#else
#define SECMOD_DEBUG(...) ((void)0)
#endif

#endif
