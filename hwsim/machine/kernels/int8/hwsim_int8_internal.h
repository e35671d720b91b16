/* Shared inline helpers of the hwsim int8 kernels (not part of the API). */
#ifndef HWSIM_INT8_INTERNAL_H
#define HWSIM_INT8_INTERNAL_H

#include "hwsim_int8.h"

#if defined(__ARM_ARCH_6M__)
#define HWSIM_V6M 1             /* Armv6-M (Cortex-M0/M0+/M1): hand-allocated Thumb-1 loops */
#else
#define HWSIM_V6M 0
#endif

/* The sign-magnitude products of the soft kernels on cores without a multiplier
 * (hwsim_int8_soft.h defines HWSIM_SOFT_KERNELS before including this header; the other
 * kernels are unchanged). */
#if defined(HWSIM_SOFT_KERNELS) && defined(__riscv) && !defined(__riscv_mul)
#define HWSIM_SIGN_MAGNITUDE 1
#else
#define HWSIM_SIGN_MAGNITUDE 0
#endif

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#define HWSIM_DSP 1
#include <arm_acle.h>
typedef int32_t __attribute__((aligned(1), may_alias)) hwsim_word_unaligned;
/* Four int8 (or two int16) as one word; Armv7E-M LDR allows unaligned addresses. */
static inline int32_t hwsim_read_word(const void *p)
{
    return *(const hwsim_word_unaligned *)p;
}
/* SXTB16 / SXTAB16 of a word rotated right by 8 (the odd bytes), as one instruction:
 * gcc 12 has no ACLE __ror and does not fold a rotate into the intrinsics. */
static inline int32_t hwsim_sxtb16_ror8(int32_t x)
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}
static inline int32_t hwsim_sxtab16_ror8(int32_t a, int32_t x)
{
    int32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
    return r;
}
static inline int32_t hwsim_pack_offset(int32_t offset)
{
    return (int32_t)(((uint32_t)offset << 16) | ((uint32_t)offset & 0xFFFFu));
}
#else
#define HWSIM_DSP 0
#endif


static inline int32_t hwsim_high_mul(int32_t a, int32_t b)
{
    /* gemmlowp SaturatingRoundingDoublingHighMul for 0 <= b < 2^31 (QuantizeMultiplier's
     * multipliers are in [2^30, 2^31) or 0, so it never saturates). gemmlowp adds 2^30
     * (1 - 2^30 for a negative product) and divides by 2^31 rounding toward zero; for
     * every product that equals adding 2^30 and rounding down, with no sign test. */
#if HWSIM_V6M
    /* Armv6-M has only a 32x32->32 MULS: four 16x16 partial products instead of
     * libgcc's 64-bit multiply. With a = ah 2^16 + al, b = bh 2^16 + bl (al, bl, bh >= 0),
     * a b + 2^30 = high 2^32 + middle 2^16 + (al bl mod 2^16), and shifting right by 31
     * gives 2 high + middle / 2^15 (middle < 2^18, so nothing below it can carry). */
    /* Hand-allocated (gcc 12 spends about 37 instructions on this C, shuffling the
     * halves through high registers): 23 instructions, seven low registers. */
    int32_t al, ah, bl, bh, low;
    __asm__(".syntax unified\n\t"
            "uxth  %[al], %[a]\n\t"
            "asrs  %[ah], %[a], #16\n\t"
            "uxth  %[bl], %[b]\n\t"
            "lsrs  %[bh], %[b], #16\n\t"
            "movs  %[low], %[al]\n\t"
            "muls  %[low], %[bl], %[low]\n\t"   /* al bl */
            "muls  %[bl], %[ah], %[bl]\n\t"     /* cross_a = ah bl */
            "muls  %[al], %[bh], %[al]\n\t"     /* cross_b = al bh */
            "muls  %[ah], %[bh], %[ah]\n\t"     /* ah bh */
            "lsrs  %[low], %[low], #16\n\t"
            "uxth  %[bh], %[bl]\n\t"
            "adds  %[low], %[low], %[bh]\n\t"
            "uxth  %[bh], %[al]\n\t"
            "adds  %[low], %[low], %[bh]\n\t"
            "movs  %[bh], #1\n\t"
            "lsls  %[bh], %[bh], #14\n\t"
            "adds  %[low], %[low], %[bh]\n\t"   /* middle */
            "asrs  %[bl], %[bl], #16\n\t"
            "adds  %[ah], %[ah], %[bl]\n\t"
            "lsrs  %[al], %[al], #16\n\t"
            "adds  %[ah], %[ah], %[al]\n\t"     /* high */
            "lsls  %[ah], %[ah], #1\n\t"
            "lsrs  %[low], %[low], #15\n\t"
            "adds  %[ah], %[ah], %[low]\n\t"
            ".syntax divided\n"
            : [al] "=&l"(al), [ah] "=&l"(ah), [bl] "=&l"(bl), [bh] "=&l"(bh), [low] "=&l"(low)
            : [a] "l"(a), [b] "l"(b) : "cc");
    return ah;
#elif HWSIM_SIGN_MAGNITUDE
    /* No multiplier (the soft kernels on RV32I/E): |a| b as libgcc's __muldi3 of two unsigned
     * words, whose loop runs over b (the multiplier: its bits are the graph's, not the
     * data's), the sign applied after. */
    const int32_t sign = a >> 31;
    const uint64_t magnitude = (uint64_t)((uint32_t)(a ^ sign) - (uint32_t)sign) * (uint32_t)b;
    const int64_t product = (int64_t)(magnitude ^ (uint64_t)(int64_t)sign) - sign + (1 << 30);
    return (int32_t)(product >> 31);
#else
    int64_t product = (int64_t)a * (int64_t)b + (1 << 30);
    return (int32_t)(product >> 31);
#endif
}

/* SaturatingRoundingDoublingHighMul(a, b) then RoundingDivideByPOT by e + 1 (>= 1), in one
 * pass. With x the high product and r = e + 1, gemmlowp's rounding (half away from zero)
 * is floor((x + 2^(r-1) - [x < 0]) / 2^r); the sum may leave int32, so it is formed
 * without overflow: in the 64-bit product with DSP (x = (a b + 2^30) >> 31, and adding
 * k 2^31 to a b + 2^30 adds k to x; the high word shifted by e is the quotient), else
 * halving x first (floor((2h + l + d) / 2^r) = floor((h + floor((l + d) / 2)) / 2^e)). */
static inline int32_t hwsim_high_mul_divide(int32_t a, int32_t b, int32_t e)
{
#if HWSIM_DSP
    int64_t t = (int64_t)a * (int64_t)b + (1 << 30);
    uint32_t k = (1u << e) + (uint32_t)((int32_t)(t >> 32) >> 31);   /* 2^(r-1) - [x < 0] */
    t += (int64_t)((uint64_t)k << 31);
    return (int32_t)(t >> 32) >> e;
#else
    int32_t x = hwsim_high_mul(a, b);
    int32_t d = (int32_t)(1u << e) + (x >> 31) + (x & 1);
    return ((x >> 1) + (d >> 1)) >> e;
#endif
}

/* MultiplyByQuantizedMultiplier without a branch on the sign of the shift (gemmlowp's
 * RoundingDivideByPOT by the right shift, 0 when shifting left): the add kernel's per-tensor
 * shifts take either sign (input shifts are often 0), and its executed instructions must
 * not depend on which. */
static inline int32_t hwsim_divide_pot(int32_t x, int32_t exponent)
{
    /* gemmlowp RoundingDivideByPOT, 0 <= exponent <= 31 */
    int32_t mask = (int32_t)((1u << exponent) - 1u);
    int32_t remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0);
    return (x >> exponent) + (remainder > threshold);
}

static inline int32_t hwsim_requantize_any(int32_t acc, int32_t multiplier, int32_t shift)
{
    int32_t left = shift > 0 ? shift : 0;
    int32_t right = shift > 0 ? 0 : -shift;
    return hwsim_divide_pot(hwsim_high_mul((int32_t)((uint32_t)acc << left), multiplier), right);
}

/* TFLite MultiplyByQuantizedMultiplier, shift in [-31, 30]: a left shift (or none) needs
 * no rounding division; a right shift by r takes hwsim_high_mul_divide with e = r - 1
 * (~shift). */
static inline int32_t hwsim_requantize_inline(int32_t acc, int32_t multiplier, int32_t shift)
{
    if (shift >= 0)
        return hwsim_high_mul((int32_t)((uint32_t)acc << shift), multiplier);
    return hwsim_high_mul_divide(acc, multiplier, ~shift);
}

/* The requantization parameters copied out of the argument structs once per call: int8
 * stores may alias anything, so fields read through pointers would be re-read after
 * every output. */
typedef struct {
    const int32_t *multiplier;
    const int32_t *shift;
    int32_t output_offset, act_min, act_max;
#if HWSIM_DSP
    int32_t offset2, min2, max2;     /* the same, in both halfwords (hwsim_clamp_pair) */
#endif
} hwsim_requant;

static inline hwsim_requant hwsim_requant_of(const hwsim_quant *q, const hwsim_channel_quant *ch)
{
    hwsim_requant r = {ch->multiplier, ch->shift, q->output_offset, q->act_min, q->act_max
#if HWSIM_DSP
                       , hwsim_pack_offset(q->output_offset), hwsim_pack_offset(q->act_min),
                       hwsim_pack_offset(q->act_max)
#endif
    };
    return r;
}

static inline int8_t hwsim_output(int32_t acc, const hwsim_requant r, int32_t c)
{
    int32_t v = hwsim_requantize_inline(acc, r.multiplier[c], r.shift[c]) + r.output_offset;
    v = v < r.act_min ? r.act_min : v;
    v = v > r.act_max ? r.act_max : v;
    return (int8_t)v;
}

#if HWSIM_DSP
/* Two requantized outputs (before the output offset) offset and clamped together, in the
 * halfwords of one word: each saturated to int16 first (SSAT), then QADD16 of the offset
 * and SEL against act_min and act_max (the GE flags of SSUB16). Equal to hwsim_output's
 * clamp(v + offset): the clamp range lies inside int8, so saturating at int16 first
 * changes nothing. Returns the two int8 results as the low bytes of the halfwords. */
static inline uint32_t hwsim_clamp_pair(int32_t low, int32_t high, const hwsim_requant *r)
{
    uint32_t v = ((uint32_t)__ssat(low, 16) & 0xFFFFu) | ((uint32_t)__ssat(high, 16) << 16);
    int32_t t;
    __asm__("qadd16  %[v], %[v], %[off]\n\t"
            "ssub16  %[t], %[v], %[min]\n\t"
            "sel     %[v], %[v], %[min]\n\t"
            "ssub16  %[t], %[v], %[max]\n\t"
            "sel     %[v], %[max], %[v]\n\t"
            : [v] "+r"(v), [t] "=&r"(t)
            : [off] "r"(r->offset2), [min] "r"(r->min2), [max] "r"(r->max2) : "cc");
    return __uxtb16(v);
}

typedef uint16_t __attribute__((aligned(1), may_alias)) hwsim_half_unaligned;

/* Outputs c and c + 1 (accumulators a0, a1) requantized into y[0], y[1]: one halfword store. */
static inline void hwsim_output2(int8_t *y, int32_t a0, int32_t a1, const hwsim_requant *r,
                                 int32_t c)
{
    uint32_t v = hwsim_clamp_pair(hwsim_requantize_inline(a0, r->multiplier[c], r->shift[c]),
                                  hwsim_requantize_inline(a1, r->multiplier[c + 1],
                                                          r->shift[c + 1]), r);
    *(hwsim_half_unaligned *)y = (uint16_t)(v | (v >> 8));
}

/* The 2 x 2 block of the matrix kernels: channels n, n + 1 (rows) of two columns, y0[n..n+1]
 * from a00, a10 and y1[n..n+1] from a01, a11; each channel's multiplier and shift read once. */
static inline void hwsim_output2x2(int8_t *y0, int8_t *y1, int32_t a00, int32_t a01,
                                   int32_t a10, int32_t a11, const hwsim_requant *r, int32_t n)
{
    const int32_t m0 = r->multiplier[n], s0 = r->shift[n];
    const int32_t m1 = r->multiplier[n + 1], s1 = r->shift[n + 1];
    uint32_t v0 = hwsim_clamp_pair(hwsim_requantize_inline(a00, m0, s0),
                                   hwsim_requantize_inline(a10, m1, s1), r);
    uint32_t v1 = hwsim_clamp_pair(hwsim_requantize_inline(a01, m0, s0),
                                   hwsim_requantize_inline(a11, m1, s1), r);
    *(hwsim_half_unaligned *)y0 = (uint16_t)(v0 | (v0 >> 8));
    *(hwsim_half_unaligned *)y1 = (uint16_t)(v1 | (v1 >> 8));
}

/* The row passes of one pair of int8 columns in assembly (dsp_passes.c): rows n, n + 1 of
 * columns x0 and x0 + depth into y0[n..n+1] and y0[rows + n..], for `pairs` row
 * pairs; depth a multiple of 4 (> 0), a bias, every shift < 0 (hwsim_pairs_fit). The job is
 * the caller's copy: the assembly advances bias, multiplier, shift and y0 in it. */
typedef struct {
    const void *x0, *x_end;                 /* column 0 and its end (depth elements) */
    const int32_t *bias, *multiplier, *shift;
    int8_t *y0;
    int32_t rows, pairs;                    /* y1 - y0; row pairs left */
    int32_t offset2, min2, max2;            /* hwsim_requant's packed pairs */
    const int8_t *w;                        /* row n's weights */
    int32_t depth;                          /* weights per row */
} hwsim_pair_job;

void hwsim_pairs_s8(hwsim_pair_job *job);

/* hwsim_mat_s8_s8 with its pairs of columns by hwsim_pairs_s8 when hwsim_pairs_fit, the
 * rest by hwsim_mat_s8_s8 (a function of its own, so that gcc's code for hwsim_mat_s8_s8
 * stays as it was). */
void hwsim_mat_pairs_s8(const hwsim_quant *quant, const hwsim_channel_quant *channels,
                        const int8_t *x, int32_t columns, int32_t depth,
                        const int8_t *w, int32_t rows, const int32_t *bias, int8_t *y);

/* The 3x3 depthwise kernel's groups of four channels of one output pixel in assembly
 * (dsp_passes.c): x and w at channel 0 of the window's first tap, `groups` groups, every
 * shift < 0 and a bias (hwsim_shifts_right). The assembly advances bias, multiplier, shift,
 * y and groups in the caller's copy. */
typedef struct {
    const int8_t *x, *w;
    const int32_t *bias, *multiplier, *shift;
    int8_t *y;
    int32_t groups;
    int32_t offset2, min2, max2;
    int32_t s, s2, row;                     /* c_count, 2 c_count, a scratch row's bytes */
} hwsim_dw_job;

void hwsim_dw3x3_groups(hwsim_dw_job *job);

/* Every one of `count` channels' shifts a right shift (the requantization path the
 * assembly passes implement). */
static inline int hwsim_shifts_right(const int32_t *shift, int32_t count)
{
    for (int32_t n = 0; n < count; n++)
        if (shift[n] >= 0)
            return 0;
    return 1;
}

/* Whether the assembly row passes apply: depth a multiple of 4, a bias, two rows or more,
 * every channel's shift a right shift (the requantization path they implement). */
static inline int hwsim_pairs_fit(const hwsim_requant *r, int32_t depth, int32_t rows,
                                  const int32_t *bias)
{
    return depth > 0 && !(depth & 3) && bias && rows >= 2 && hwsim_shifts_right(r->shift, rows);
}

static inline hwsim_pair_job hwsim_pair_job_of(const hwsim_requant *r, const int8_t *w,
                                               int32_t depth, int32_t rows,
                                               const int32_t *bias)
{
    hwsim_pair_job job = {0, 0, bias, r->multiplier, r->shift, 0, rows, rows >> 1,
                          r->offset2, r->min2, r->max2, w, depth};
    return job;
}

/* Outputs c .. c + 3 (accumulators a0 .. a3) requantized into y[0..3]: one word store. */
static inline void hwsim_output4(int8_t *y, int32_t a0, int32_t a1, int32_t a2, int32_t a3,
                                 const hwsim_requant *r, int32_t c)
{
    const int32_t *m = r->multiplier + c, *s = r->shift + c;
    uint32_t even = hwsim_clamp_pair(hwsim_requantize_inline(a0, m[0], s[0]),
                                     hwsim_requantize_inline(a2, m[2], s[2]), r);
    uint32_t odd = hwsim_clamp_pair(hwsim_requantize_inline(a1, m[1], s[1]),
                                    hwsim_requantize_inline(a3, m[3], s[3]), r);
    *(hwsim_word_unaligned *)y = (int32_t)(even | (odd << 8));
}
#endif

#endif
