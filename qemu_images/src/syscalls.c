/* The few newlib hooks the firmware needs: heap for the C library, console for write, time. */
#include <errno.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/time.h>
#include "clock.h"
#include "uart.h"

extern char __heap_start, __heap_end;
static char *heap_ptr = &__heap_start;

void *_sbrk(ptrdiff_t incr)
{
    if (heap_ptr + incr > &__heap_end) {
        errno = ENOMEM;
        return (void *)-1;
    }
    char *prev = heap_ptr;
    heap_ptr += incr;
    return prev;
}

int _write(int fd, const char *buf, int len)
{
    (void)fd;
    uart_write(buf, (size_t)len);
    return len;
}

int _read(int fd, char *buf, int len) { (void)fd; (void)buf; (void)len; return 0; }
int _close(int fd) { (void)fd; return -1; }
int _lseek(int fd, int off, int whence) { (void)fd; (void)off; (void)whence; return 0; }
int _fstat(int fd, struct stat *st) { (void)fd; st->st_mode = S_IFCHR; return 0; }
int _isatty(int fd) { (void)fd; return 1; }
int _getpid(void) { return 1; }

/* time() and gettimeofday(): unix time from the firmware clock (SNTP, or the config block's hint);
 * 1970 until either is known. mbedTLS checks certificate validity with time(). */
int _gettimeofday(struct timeval *tv, void *tz)
{
    (void)tz;
    uint64_t ms = clock_unix_ms();
    tv->tv_sec = (time_t)(ms / 1000u);
    tv->tv_usec = (suseconds_t)(ms % 1000u) * 1000;
    return 0;
}
int _kill(int pid, int sig) { (void)pid; (void)sig; errno = EINVAL; return -1; }
void _exit(int code) { (void)code; for (;;) { } }
