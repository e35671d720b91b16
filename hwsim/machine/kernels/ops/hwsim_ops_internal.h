/* Shared by the ops kernels' sources (hwsim_ops.h): the branch-free selections and the
 * templates' helpers. */
#ifndef HWSIM_OPS_INTERNAL_H
#define HWSIM_OPS_INTERNAL_H

#include "hwsim_ops.h"

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

/* All ones when a < b (signed, any int32 values: Hacker's Delight 2-12), else 0. */
static inline int32_t hwsim_ops_less(int32_t a, int32_t b)
{
    const uint32_t d = (uint32_t)a - (uint32_t)b;
    return hwsim_ops_sign((int32_t)(d ^ (((uint32_t)a ^ (uint32_t)b) & (d ^ (uint32_t)a))));
}

/* The level of acc: walk p over the padded bounds, one masked step per search step. */
#define HWSIM_OPS_SEARCH(acc, bounds, half, level)                                      \
    do {                                                                                \
        __typeof__(bounds) p_ = (bounds);                                               \
        for (int32_t s_ = (half); s_ > 0; s_ >>= 1)                                     \
            p_ += s_ & ~hwsim_ops_sign((acc) - (int32_t)p_[s_]);                        \
        (level) = (uint32_t)(p_ - (bounds));                                            \
    } while (0)

static inline int32_t hwsim_ops_half(int32_t steps)
{
    return steps > 0 ? (int32_t)1 << (steps - 1) : 0;
}

#endif
