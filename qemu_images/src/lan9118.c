/*
 * LAN9118 Ethernet driver. QEMU model quirks this driver respects
 * (shared/spec/qemu-mps2.md): only 32-bit register accesses; never touch an
 * unimplemented register (QEMU aborts); MAC_CR comes out of reset promiscuous,
 * so it is always written; the IRQ line is asserted out of reset, so IRQ_CFG
 * is programmed before the NVIC line is enabled; RX status lengths include the
 * 4-byte FCS; RX_STATUS_FIFO_PEEK is not used; no checksum offload.
 * The RX interrupt only wakes the main loop: the handler masks it, the loop
 * drains the FIFO and re-arms it.
 */
#include <string.h>
#include "board.h"
#include "cm.h"
#include "lan9118.h"

#define R(off) REG32(BOARD_NIC_BASE + (off))
#define RX_DATA_FIFO R(0x00)
#define TX_DATA_FIFO R(0x20)
#define RX_STATUS_FIFO R(0x40)
#define ID_REV R(0x50)
#define IRQ_CFG R(0x54)
#define INT_STS R(0x58)
#define INT_EN R(0x5C)
#define BYTE_TEST R(0x64)
#define FIFO_INT R(0x68)
#define RX_CFG R(0x6C)
#define TX_CFG R(0x70)
#define HW_CFG R(0x74)
#define RX_DP_CTRL R(0x78)
#define RX_FIFO_INF R(0x7C)
#define TX_FIFO_INF R(0x80)
#define PMT_CTRL R(0x84)
#define MAC_CSR_CMD R(0xA4)
#define MAC_CSR_DATA R(0xA8)
#define AFC_CFG R(0xAC)

#define INT_RSFL (1u << 3)
#define IRQ_CFG_ENABLE 0x111u /* IRQ_EN | IRQ_POL (active high) | IRQ_TYPE (push-pull) */
#define MAC_CR 1
#define MAC_ADDRH 2
#define MAC_ADDRL 3
#define MAC_MII_ACC 6
#define MAC_MII_DATA 7
#define MAC_CR_RXEN (1u << 2)
#define MAC_CR_TXEN (1u << 3)
#define MAC_CR_FDPX (1u << 20)
#define MAC_CR_MCPAS (1u << 19) /* pass all multicast: IPv6 ND and RAs need it */

volatile int lan9118_irq_seen;
lan9118_stats_t lan9118_stats;

static int csr_wait(void)
{
    for (int i = 0; i < 100000; i++) {
        if (!(MAC_CSR_CMD & 0x80000000u)) return 0;
    }
    return -1;
}

static uint32_t mac_read(unsigned idx)
{
    MAC_CSR_CMD = 0x80000000u | 0x40000000u | (idx & 0xFFu);
    csr_wait();
    return MAC_CSR_DATA;
}

static void mac_write(unsigned idx, uint32_t value)
{
    MAC_CSR_DATA = value;
    MAC_CSR_CMD = 0x80000000u | (idx & 0xFFu);
    csr_wait();
}

static uint32_t phy_read(unsigned reg)
{
    mac_write(MAC_MII_ACC, (1u << 11) | ((reg & 0x1Fu) << 6) | 1u); /* PHY addr 1, read, busy */
    for (int i = 0; i < 100000 && (mac_read(MAC_MII_ACC) & 1u); i++) {
    }
    return mac_read(MAC_MII_DATA) & 0xFFFFu;
}

int lan9118_init(const uint8_t mac[6])
{
    if (BYTE_TEST != 0x87654321u || (ID_REV >> 16) != 0x0118u) {
        return -1;
    }
    IRQ_CFG = 0;  /* keep the line quiet while configuring */
    INT_EN = 0;
    HW_CFG = 1u;  /* soft reset */
    for (int i = 0; i < 100000 && (HW_CFG & 1u); i++) {
    }
    for (int i = 0; i < 100000 && !(PMT_CTRL & 1u); i++) {
    }
    IRQ_CFG = 0;
    INT_EN = 0;
    INT_STS = 0xFFFFFFFFu;
    mac_write(MAC_ADDRL, (uint32_t)mac[0] | (uint32_t)mac[1] << 8 | (uint32_t)mac[2] << 16 | (uint32_t)mac[3] << 24);
    mac_write(MAC_ADDRH, (uint32_t)mac[4] | (uint32_t)mac[5] << 8);
    mac_write(MAC_CR, MAC_CR_RXEN | MAC_CR_TXEN | MAC_CR_FDPX | MAC_CR_MCPAS);
    RX_CFG = 0;            /* no offset, 4-byte end alignment */
    TX_CFG = (1u << 1) | (1u << 2); /* TX_ON, TXSAO: status FIFO may overrun (we never read it) */
    FIFO_INT = 0;          /* RX status level 0: interrupt on the first frame */
    INT_EN = INT_RSFL;
    IRQ_CFG = IRQ_CFG_ENABLE;
    nvic_enable(BOARD_NIC_IRQ);
    return 0;
}

void nic_irq_handler(void)
{
    INT_EN = 0; /* the RX level interrupt stays asserted until drained: mask it */
    INT_STS = 0xFFFFFFFFu;
    lan9118_irq_seen = 1;
    lan9118_stats.irqs++;
}

void lan9118_irq_rearm(void)
{
    INT_STS = INT_RSFL;
    INT_EN = INT_RSFL;
}

int lan9118_rx_pending(void) { return (int)((RX_FIFO_INF >> 16) & 0xFFu); }

int lan9118_recv(uint8_t *buf, size_t max)
{
    uint32_t status = RX_STATUS_FIFO;
    uint32_t len = (status >> 16) & 0x3FFFu;
    uint32_t words = (len + 3u) / 4u;
    int ok = !(status & (1u << 15)) && len >= 4u && len - 4u <= max;
    if (!ok) {
        for (uint32_t i = 0; i < words; i++) {
            (void)RX_DATA_FIFO;
        }
        lan9118_stats.rx_dropped++;
        return 0;
    }
    uint32_t frame = len - 4u; /* strip the FCS */
    for (uint32_t i = 0; i < words; i++) {
        uint32_t w = RX_DATA_FIFO;
        uint32_t off = i * 4u;
        for (uint32_t b = 0; b < 4u && off + b < frame; b++) {
            buf[off + b] = (uint8_t)(w >> (8u * b));
        }
    }
    lan9118_stats.rx_frames++;
    return (int)frame;
}

int lan9118_send(const uint8_t *frame, size_t len)
{
    if (len > 1514u) {
        lan9118_stats.tx_errors++;
        return -1;
    }
    uint32_t words = (uint32_t)((len + 3u) / 4u);
    /* free TX data FIFO space; QEMU reports it in words and sends each frame at
     * once, so this only trips if the model ever queues */
    if ((TX_FIFO_INF & 0xFFFFu) < words + 2u) {
        lan9118_stats.tx_errors++;
        return -1;
    }
    TX_DATA_FIFO = (1u << 13) | (1u << 12) | (uint32_t)len; /* cmd A: first+last segment */
    TX_DATA_FIFO = ((uint32_t)len << 16) | (uint32_t)len;   /* cmd B: tag, packet length */
    for (uint32_t i = 0; i < words; i++) {
        uint32_t w = 0;
        for (uint32_t b = 0; b < 4u && i * 4u + b < len; b++) {
            w |= (uint32_t)frame[i * 4u + b] << (8u * b);
        }
        TX_DATA_FIFO = w;
    }
    lan9118_stats.tx_frames++;
    return 0;
}

int lan9118_link_up(void) { return (phy_read(1) & (1u << 2)) != 0; }
