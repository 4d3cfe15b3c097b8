#ifndef LAN9118_H
#define LAN9118_H
#include <stddef.h>
#include <stdint.h>
/* SMSC LAN9118 as QEMU models it on the MPS2 boards (register base from board.h). */
int lan9118_init(const uint8_t mac[6]);   /* 0 ok, -1 no chip */
int lan9118_send(const uint8_t *frame, size_t len);
int lan9118_rx_pending(void);             /* frames waiting in the RX FIFO */
int lan9118_recv(uint8_t *buf, size_t max); /* frame length without FCS; 0 if dropped */
void lan9118_irq_rearm(void);             /* re-enable the RX interrupt after draining */
int lan9118_link_up(void);
extern volatile int lan9118_irq_seen;
typedef struct {
    uint32_t rx_frames, rx_dropped, tx_frames, tx_errors, irqs;
} lan9118_stats_t;
extern lan9118_stats_t lan9118_stats;
#endif
