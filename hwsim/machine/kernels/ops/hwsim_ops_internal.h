/* Shared by the ops kernels' sources (hwsim_ops.h): the branch-free selections and the
 * templates' helpers. */
#ifndef HWSIM_OPS_INTERNAL_H
#define HWSIM_OPS_INTERNAL_H

#include "hwsim_ops.h"
/* Which kernels a build compiles (HWSIM_OPS_USE_<kernel>): the code generator writes
 * the ones a network calls (16 KB-flash parts), the characterization firmware all. */
#include "hwsim_ops_config.h"

/* v += step, hidden from gcc's induction-variable analysis: otherwise gcc computes a
 * loop's exit value as trip count x step, a multiply the lut style has not. */
#define HWSIM_OPS_STEP(v, step) __extension__({ (v) += (step); __asm__("" : "+r"(v)); })

/* All ones when v < 0, else 0; opaque to gcc, which would otherwise turn the masked
 * selections back into compares and branches. */
static inline int32_t hwsim_ops_sign(int32_t v)
{
    int32_t s = v >> 31;
    __asm__("" : "+r"(s));
    return s;
}

/* All ones when a < b (signed, any int32 values), else 0. Armv6-M: Hacker's Delight 2-12,
 * no compare, which gcc would turn into a branch there; elsewhere the compare (RV32
 * `slt`, Armv7-M an IT block). */
static inline int32_t hwsim_ops_less(int32_t a, int32_t b)
{
#ifndef __ARM_ARCH_6M__
    return -(int32_t)(a < b);
#endif
    const uint32_t d = (uint32_t)a - (uint32_t)b;
    return hwsim_ops_sign((int32_t)(d ^ (((uint32_t)a ^ (uint32_t)b) & (d ^ (uint32_t)a))));
}

/* One search step: p moves k bounds on when acc >= p[k]. */
#define HWSIM_OPS_STEP_UP(acc, p, k)                                                   \
    ((p) += (k) & ((int32_t)((acc) < (int32_t)(p)[k]) - 1))

/* The level of acc among bounds padded to 2^steps entries (steps <= HWSIM_OPS_MAX_STEPS):
 * the search unrolled, entered at its first step (a jump on steps, a shape constant). */
#define HWSIM_OPS_MAX_STEPS 8
#define HWSIM_OPS_SEARCH(acc, bounds, steps, level)                                     \
    do {                                                                                \
        __typeof__(bounds) p_ = (bounds);                                               \
        switch (steps) {                                                                \
        case 8: HWSIM_OPS_STEP_UP(acc, p_, 128); __attribute__((fallthrough));          \
        case 7: HWSIM_OPS_STEP_UP(acc, p_, 64); __attribute__((fallthrough));           \
        case 6: HWSIM_OPS_STEP_UP(acc, p_, 32); __attribute__((fallthrough));           \
        case 5: HWSIM_OPS_STEP_UP(acc, p_, 16); __attribute__((fallthrough));           \
        case 4: HWSIM_OPS_STEP_UP(acc, p_, 8); __attribute__((fallthrough));            \
        case 3: HWSIM_OPS_STEP_UP(acc, p_, 4); __attribute__((fallthrough));            \
        case 2: HWSIM_OPS_STEP_UP(acc, p_, 2); __attribute__((fallthrough));            \
        case 1: HWSIM_OPS_STEP_UP(acc, p_, 1); __attribute__((fallthrough));            \
        default: break;                                                                 \
        }                                                                               \
        (level) = (uint32_t)(p_ - (bounds));                                            \
    } while (0)

#endif
