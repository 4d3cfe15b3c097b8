#ifndef VERSION_H
#define VERSION_H
#define FW_NAME "refdev"
#define FW_VERSION "1.0.0"
#ifndef FW_BUILD_ID
#define FW_BUILD_ID "unknown"
#endif
#ifndef FW_PROFILE
#define FW_PROFILE "real"
#endif
#ifdef WITH_SECMOD
#define FW_SECMOD "on"
#else
#define FW_SECMOD "off"
#endif
#endif
