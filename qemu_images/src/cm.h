/* Minimal Cortex-M system registers (SCB, NVIC, SysTick) used by the firmware. */
#ifndef CM_H
#define CM_H
#include <stdint.h>

#define REG32(addr) (*(volatile uint32_t *)(addr))

#define SCB_ICSR REG32(0xE000ED04u)
#define SCB_VTOR REG32(0xE000ED08u)
#define SCB_AIRCR REG32(0xE000ED0Cu)
#define SCB_SHCSR REG32(0xE000ED24u)
#define SCB_CFSR REG32(0xE000ED28u)
#define SCB_HFSR REG32(0xE000ED2Cu)
#define SCB_MMFAR REG32(0xE000ED34u)
#define SCB_BFAR REG32(0xE000ED38u)
#define SYST_CSR REG32(0xE000E010u)
#define SYST_RVR REG32(0xE000E014u)
#define SYST_CVR REG32(0xE000E018u)
#define NVIC_ISER(n) REG32(0xE000E100u + 4u * (n))
#define NVIC_ICER(n) REG32(0xE000E180u + 4u * (n))
#define NVIC_ICPR(n) REG32(0xE000E280u + 4u * (n))

static inline void nvic_enable(int irq) { NVIC_ICPR(irq >> 5) = 1u << (irq & 31); NVIC_ISER(irq >> 5) = 1u << (irq & 31); }
static inline void nvic_disable(int irq) { NVIC_ICER(irq >> 5) = 1u << (irq & 31); }
static inline void irq_disable(void) { __asm volatile("cpsid i" ::: "memory"); }
static inline void irq_enable(void) { __asm volatile("cpsie i" ::: "memory"); }
static inline void cpu_wfi(void) { __asm volatile("dsb\n wfi" ::: "memory"); }
static inline void system_reset(void)
{
    __asm volatile("dsb" ::: "memory");
    SCB_AIRCR = 0x05FA0004u; /* VECTKEY | SYSRESETREQ */
    for (;;) {
    }
}
#endif
