#ifndef SEMIHOST_H
#define SEMIHOST_H
/* Ends the QEMU process with `code` (SYS_EXIT_EXTENDED); needs -semihosting-config enable=on. */
void semihost_exit(int code) __attribute__((noreturn));
#endif
