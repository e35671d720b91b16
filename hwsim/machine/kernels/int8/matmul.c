/* The blocked matrix kernels: y[m][n] = requantize(bias[n] + sum_k w[n][k] * x[m][k]), the
 * input offset folded into the bias by the caller (hwsim.ir.int8_kernels.folded_bias).
 *
 * Rows n are output channels (weights, int8, `depth` per row); columns m are output
 * pixels or batches, `rows` outputs each. Two rows x two columns per pass: each loaded
 * weight word serves two columns and each loaded input word two rows.
 *
 * hwsim_mat_s8_s8 reads int8 columns (widened by SXTB16 with DSP);
 * hwsim_mat_s8_s16 reads int16 columns (the im2col buffer),
 * which with DSP holds each group of four as x0 x2 x1 x3, so that one word load pairs
 * with SXTB16 of a weight word and another with SXTB16 of it rotated by 8. */
#include "hwsim_int8_internal.h"

static inline int32_t bias_of(const int32_t *bias, int32_t n)
{
    return bias ? bias[n] : 0;
}

#if HWSIM_DSP
/* The Armv7E-M inner blocks (16 MACs each) and their operands, shared by the single block
 * and the two-block loop. */
#define HWSIM_S8_BLOCK \
    "ldr     %[t0], [%[wa], %[depth]]\n\t" \
    "ldr     %[t1], [%[wa]], #4\n\t" \
    "sxtb16  %[t2], %[t0]\n\t" \
    "sxtb16  %[t0], %[t0], ror #8\n\t" \
    "sxtb16  %[t3], %[t1]\n\t" \
    "sxtb16  %[t1], %[t1], ror #8\n\t" \
    "ldr     %[t4], [%[xa], %[depth]]\n\t" \
    "sxtb16  %[t5], %[t4]\n\t" \
    "sxtb16  %[t4], %[t4], ror #8\n\t" \
    "smlad   %[a01], %[t3], %[t5], %[a01]\n\t" \
    "smlad   %[a11], %[t2], %[t5], %[a11]\n\t" \
    "smlad   %[a01], %[t1], %[t4], %[a01]\n\t" \
    "smlad   %[a11], %[t0], %[t4], %[a11]\n\t" \
    "ldr     %[t4], [%[xa]], #4\n\t" \
    "sxtb16  %[t5], %[t4]\n\t" \
    "sxtb16  %[t4], %[t4], ror #8\n\t" \
    "smlad   %[a00], %[t3], %[t5], %[a00]\n\t" \
    "smlad   %[a10], %[t2], %[t5], %[a10]\n\t" \
    "smlad   %[a00], %[t1], %[t4], %[a00]\n\t" \
    "smlad   %[a10], %[t0], %[t4], %[a10]\n\t"
#define HWSIM_S8_OUTPUTS                                                              \
    [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [xa] "+r"(xa),  \
    [wa] "+r"(wa), [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3),      \
    [t4] "=&r"(t4), [t5] "=&r"(t5)
#define HWSIM_S8_INPUTS [depth] "r"(depth), [end] "r"(end)
#define HWSIM_S16_BLOCK \
    "ldr     %[t0], [%[wa], %[w_step]]\n\t" \
    "ldr     %[t1], [%[wa]], #4\n\t" \
    "sxtb16  %[t2], %[t0]\n\t" \
    "sxtb16  %[t0], %[t0], ror #8\n\t" \
    "sxtb16  %[t3], %[t1]\n\t" \
    "sxtb16  %[t1], %[t1], ror #8\n\t" \
    "ldr     %[t4], [%[xa], %[x_step]]\n\t" \
    "smlad   %[a01], %[t3], %[t4], %[a01]\n\t" \
    "smlad   %[a11], %[t2], %[t4], %[a11]\n\t" \
    "ldr     %[t4], [%[xa]], #4\n\t" \
    "smlad   %[a00], %[t3], %[t4], %[a00]\n\t" \
    "smlad   %[a10], %[t2], %[t4], %[a10]\n\t" \
    "ldr     %[t4], [%[xa], %[x_step]]\n\t" \
    "smlad   %[a01], %[t1], %[t4], %[a01]\n\t" \
    "smlad   %[a11], %[t0], %[t4], %[a11]\n\t" \
    "ldr     %[t4], [%[xa]], #4\n\t" \
    "smlad   %[a00], %[t1], %[t4], %[a00]\n\t" \
    "smlad   %[a10], %[t0], %[t4], %[a10]\n\t"
#define HWSIM_S16_OUTPUTS                                                             \
    [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [xa] "+r"(xa),  \
    [wa] "+r"(wa), [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3),      \
    [t4] "=&r"(t4)
#define HWSIM_S16_INPUTS [w_step] "r"(depth), [x_step] "r"(x_step), [end] "m"(end)
#endif

#if HWSIM_V6M
/* One step of the Armv6-M 1x4 kernel: one input byte, four weights, four MACs. */
#define HWSIM_V6M_STEP                                                                \
    "ldrsb %[u], [%[xe], %[k]]\n\t"                                                    \
    "ldrsb %[p], [%[w0], %[k]]\n\t"                                                    \
    "muls  %[p], %[u], %[p]\n\t"                                                      \
    "add   %[a0], %[p]\n\t"                                                           \
    "ldrsb %[p], [%[w1], %[k]]\n\t"                                                    \
    "muls  %[p], %[u], %[p]\n\t"                                                      \
    "add   %[a1], %[p]\n\t"                                                           \
    "ldrsb %[p], [%[w2], %[k]]\n\t"                                                    \
    "muls  %[p], %[u], %[p]\n\t"                                                      \
    "add   %[a2], %[p]\n\t"                                                           \
    "ldrsb %[p], [%[w3], %[k]]\n\t"                                                    \
    "muls  %[p], %[u], %[p]\n\t"                                                      \
    "add   %[a3], %[p]\n\t"                                                           \
    "adds  %[k], #1\n\t"
#define HWSIM_V6M_OUTPUTS                                                             \
    [a0] "+h"(a0), [a1] "+h"(a1), [a2] "+h"(a2), [a3] "+h"(a3), [k] "+l"(k),          \
    [u] "=&l"(u), [p] "=&l"(p)
#define HWSIM_V6M_INPUTS                                                              \
    [xe] "l"(x_end), [w0] "l"(w0), [w1] "l"(w1), [w2] "l"(w2), [w3] "l"(w3)
#endif

#if HWSIM_V6M
/* Armv6-M: one column x four rows per pass, the accumulators in r8-r11 (ADD reaches the
 * high registers, MULS and loads only the low ones), one index register counting up to
 * zero for all five streams: per MAC one LDRSB, one MULS, one ADD, plus a quarter of the
 * input load and the index step; four steps per loop pass. gcc keeps fewer values in
 * registers (it spills in the 2x2 block), so this loop is hand-allocated. */
static void mat_s8_s8_v6m(const hwsim_requant rq, const int8_t *x,
                          int32_t columns, int32_t depth, const int8_t *w, int32_t rows,
                          const int32_t *bias, int8_t *y)
{
    for (int32_t m = 0; m < columns; m++, x += depth, y += rows) {
        const int8_t *x_end = x + depth;
        int32_t n = 0;
        for (; n + 3 < rows; n += 4) {
            const int8_t *w0 = w + (n + 1) * depth, *w1 = w0 + depth;
            const int8_t *w2 = w1 + depth, *w3 = w2 + depth;   /* row ends */
            int32_t a0 = bias_of(bias, n), a1 = bias_of(bias, n + 1);
            int32_t a2 = bias_of(bias, n + 2), a3 = bias_of(bias, n + 3);
            int32_t k = -depth, u, p;
            if (depth & 1)
                __asm__(".syntax unified\n\t" HWSIM_V6M_STEP ".syntax divided\n"
                        : HWSIM_V6M_OUTPUTS : HWSIM_V6M_INPUTS : "cc");
            if (depth & 2)
                __asm__(".syntax unified\n\t" HWSIM_V6M_STEP HWSIM_V6M_STEP ".syntax divided\n"
                        : HWSIM_V6M_OUTPUTS : HWSIM_V6M_INPUTS : "cc");
            if (k != 0)                             /* four steps per pass */
                __asm__(".syntax unified\n"          /* gcc brackets Thumb-1 asm in divided syntax */
                        "1:\n\t" HWSIM_V6M_STEP HWSIM_V6M_STEP HWSIM_V6M_STEP HWSIM_V6M_STEP
                        "bne   1b\n\t"
                        ".syntax divided\n"
                        : HWSIM_V6M_OUTPUTS : HWSIM_V6M_INPUTS : "cc");
            y[n] = hwsim_output(a0, rq, n);
            y[n + 1] = hwsim_output(a1, rq, n + 1);
            y[n + 2] = hwsim_output(a2, rq, n + 2);
            y[n + 3] = hwsim_output(a3, rq, n + 3);
        }
        for (; n < rows; n++) {
            const int8_t *w0 = w + n * depth;
            int32_t a0 = bias_of(bias, n);
            for (int32_t k = 0; k < depth; k++)
                a0 += w0[k] * x[k];
            y[n] = hwsim_output(a0, rq, n);
        }
    }
}
#endif

void hwsim_mat_s8_s8(const hwsim_quant *quant, const hwsim_channel_quant *channels,
                     const int8_t *x, int32_t columns, int32_t depth,
                     const int8_t *w, int32_t rows, const int32_t *bias, int8_t *y)
{
    const hwsim_requant rq = hwsim_requant_of(quant, channels);
#if HWSIM_V6M
    if (depth > 0) {
        mat_s8_s8_v6m(rq, x, columns, depth, w, rows, bias, y);
        return;
    }
#endif
    const int32_t depth4 = depth & ~3;
    int32_t m = 0;
    for (; m + 1 < columns; m += 2) {
        const int8_t *x0 = x + m * depth;
        const int8_t *x1 = x0 + depth;
        int8_t *y0 = y + m * rows;
        int8_t *y1 = y0 + rows;
        int32_t n = 0;
        for (; n + 1 < rows; n += 2) {
            const int8_t *w0 = w + n * depth;
            const int8_t *w1 = w0 + depth;
            int32_t a00 = bias_of(bias, n), a01 = a00;
            int32_t a10 = bias_of(bias, n + 1), a11 = a10;
            int32_t k = 0;
#if HWSIM_DSP
            if (depth4) {
                /* Hand-allocated: gcc spills five registers in this loop. 16 MACs per
                 * block: four loads, eight SXTB16/SXTAB16, eight SMLAD; the second column
                 * and row sit `depth` bytes after the first. Two blocks per pass. */
                const int8_t *xa = x0, *wa = w0;
                const int8_t *end = x0 + depth4;
                int32_t t0, t1, t2, t3, t4, t5;
                if (depth4 & 4)
                    __asm__(HWSIM_S8_BLOCK : HWSIM_S8_OUTPUTS : HWSIM_S8_INPUTS : "cc");
                if (xa != end)
                    __asm__("1:\n\t" HWSIM_S8_BLOCK HWSIM_S8_BLOCK
                            "cmp     %[xa], %[end]\n\t"
                            "bne     1b\n\t"
                            : HWSIM_S8_OUTPUTS : HWSIM_S8_INPUTS : "cc");
                k = depth4;
            }
#else
            (void)depth4;
#endif
#if !HWSIM_DSP && !HWSIM_V6M
#pragma GCC unroll 4
#endif
            for (; k < depth; k++) {
                int32_t u = x0[k], v = x1[k];
                int32_t p = w0[k], q = w1[k];
                a00 += p * u;
                a01 += p * v;
                a10 += q * u;
                a11 += q * v;
            }
#if HWSIM_DSP
            hwsim_output2x2(y0 + n, y1 + n, a00, a01, a10, a11, &rq, n);
#else
            y0[n] = hwsim_output(a00, rq, n);
            y1[n] = hwsim_output(a01, rq, n);
            y0[n + 1] = hwsim_output(a10, rq, n + 1);
            y1[n + 1] = hwsim_output(a11, rq, n + 1);
#endif
        }
        if (n < rows) {
            const int8_t *w0 = w + n * depth;
            int32_t a00 = bias_of(bias, n), a01 = a00;
            for (int32_t k = 0; k < depth; k++) {
                a00 += w0[k] * x0[k];
                a01 += w0[k] * x1[k];
            }
            y0[n] = hwsim_output(a00, rq, n);
            y1[n] = hwsim_output(a01, rq, n);
        }
    }
    if (m < columns) {                /* one column left: two rows per pass */
        const int8_t *x0 = x + m * depth;
        int8_t *y0 = y + m * rows;
        int32_t n = 0;
        for (; n + 1 < rows; n += 2) {
            const int8_t *w0 = w + n * depth;
            const int8_t *w1 = w0 + depth;
            int32_t a0 = bias_of(bias, n), a1 = bias_of(bias, n + 1);
            int32_t k = 0;
#if HWSIM_DSP
            for (; k < depth4; k += 4) {
                int32_t u = hwsim_read_word(x0 + k);
                int32_t u_odd = hwsim_sxtb16_ror8(u), u_even = __sxtb16(u);
                int32_t p = hwsim_read_word(w0 + k);
                int32_t q = hwsim_read_word(w1 + k);
                a0 = __smlad(__sxtb16(p), u_even, a0);
                a0 = __smlad(hwsim_sxtb16_ror8(p), u_odd, a0);
                a1 = __smlad(__sxtb16(q), u_even, a1);
                a1 = __smlad(hwsim_sxtb16_ror8(q), u_odd, a1);
            }
#endif
            for (; k < depth; k++) {
                int32_t u = x0[k];
                a0 += w0[k] * u;
                a1 += w1[k] * u;
            }
#if HWSIM_DSP
            hwsim_output2(y0 + n, a0, a1, &rq, n);
#else
            y0[n] = hwsim_output(a0, rq, n);
            y0[n + 1] = hwsim_output(a1, rq, n + 1);
#endif
        }
        if (n < rows) {
            const int8_t *w0 = w + n * depth;
            int32_t a0 = bias_of(bias, n);
            for (int32_t k = 0; k < depth; k++)
                a0 += w0[k] * x0[k];
            y0[n] = hwsim_output(a0, rq, n);
        }
    }
}

void hwsim_mat_s8_s16(const hwsim_quant *quant, const hwsim_channel_quant *channels,
                      const int16_t *x, int32_t columns, int32_t depth,
                      const int8_t *w, int32_t rows, const int32_t *bias, int8_t *y)
{
    const hwsim_requant rq = hwsim_requant_of(quant, channels);
    const int32_t depth4 = depth & ~3;
    int32_t m = 0;
    for (; m + 1 < columns; m += 2) {
        const int16_t *x0 = x + m * depth;
        const int16_t *x1 = x0 + depth;
        int8_t *y0 = y + m * rows;
        int8_t *y1 = y0 + rows;
        int32_t n = 0;
        for (; n + 1 < rows; n += 2) {
            const int8_t *w0 = w + n * depth;
            const int8_t *w1 = w0 + depth;
            int32_t a00 = bias_of(bias, n), a01 = a00;
            int32_t a10 = bias_of(bias, n + 1), a11 = a10;
            int32_t k = 0;
#if HWSIM_DSP
            if (depth4) {
                /* Hand-allocated as in hwsim_mat_s8_s8: four loads, four SXTB16 and eight
                 * SMLAD per 16 MACs (the im2col columns are already int16). */
                const int16_t *xa = x0;
                const int8_t *wa = w0;
                const int16_t *end = x0 + depth4;
                const int32_t x_step = 2 * depth;
                int32_t t0, t1, t2, t3, t4;
                if (depth4 & 4)
                    __asm__(HWSIM_S16_BLOCK : HWSIM_S16_OUTPUTS : HWSIM_S16_INPUTS : "cc");
                if (xa != end)
                    __asm__("1:\n\t" HWSIM_S16_BLOCK HWSIM_S16_BLOCK
                            "ldr     %[t4], %[end]\n\t"
                            "cmp     %[xa], %[t4]\n\t"
                            "bne     1b\n\t"
                            : HWSIM_S16_OUTPUTS : HWSIM_S16_INPUTS : "cc");
                k = depth4;
            }
#else
            (void)depth4;
#endif
#if !HWSIM_DSP && !HWSIM_V6M
#pragma GCC unroll 4
#endif
            for (; k < depth; k++) {
                int32_t u = x0[k], v = x1[k];
                int32_t p = w0[k], q = w1[k];
                a00 += p * u;
                a01 += p * v;
                a10 += q * u;
                a11 += q * v;
            }
#if HWSIM_DSP
            hwsim_output2x2(y0 + n, y1 + n, a00, a01, a10, a11, &rq, n);
#else
            y0[n] = hwsim_output(a00, rq, n);
            y1[n] = hwsim_output(a01, rq, n);
            y0[n + 1] = hwsim_output(a10, rq, n + 1);
            y1[n + 1] = hwsim_output(a11, rq, n + 1);
#endif
        }
        if (n < rows) {
            const int8_t *w0 = w + n * depth;
            int32_t a00 = bias_of(bias, n), a01 = a00;
            int32_t k = 0;
#if HWSIM_DSP
            for (; k < depth4; k += 4) {
                int32_t p = hwsim_read_word(w0 + k);
                int32_t p_odd = hwsim_sxtb16_ror8(p), p_even = __sxtb16(p);
                a00 = __smlad(p_even, hwsim_read_word(x0 + k), a00);
                a00 = __smlad(p_odd, hwsim_read_word(x0 + k + 2), a00);
                a01 = __smlad(p_even, hwsim_read_word(x1 + k), a01);
                a01 = __smlad(p_odd, hwsim_read_word(x1 + k + 2), a01);
            }
#endif
            for (; k < depth; k++) {
                a00 += w0[k] * x0[k];
                a01 += w0[k] * x1[k];
            }
            y0[n] = hwsim_output(a00, rq, n);
            y1[n] = hwsim_output(a01, rq, n);
        }
    }
    if (m < columns) {
        const int16_t *x0 = x + m * depth;
        int8_t *y0 = y + m * rows;
        for (int32_t n = 0; n < rows; n++) {
            const int8_t *w0 = w + n * depth;
            int32_t a0 = bias_of(bias, n);
            int32_t k = 0;
#if HWSIM_DSP
            for (; k < depth4; k += 4) {
                int32_t p = hwsim_read_word(w0 + k);
                a0 = __smlad(__sxtb16(p), hwsim_read_word(x0 + k), a0);
                a0 = __smlad(hwsim_sxtb16_ror8(p), hwsim_read_word(x0 + k + 2), a0);
            }
#endif
            for (; k < depth; k++)
                a0 += w0[k] * x0[k];
            y0[n] = hwsim_output(a0, rq, n);
        }
    }
}
