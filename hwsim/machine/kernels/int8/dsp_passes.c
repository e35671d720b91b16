/* Armv7E-M: the row passes of the blocked matrix kernel on int8 columns (hwsim_mat_s8_s8)
 * for one pair of columns, and the channel passes of the 3x3 depthwise kernel for one output
 * pixel, written as whole assembly functions.
 *
 * In C (the inner loop in inline assembly, the set-up and the requantization around it in
 * C) gcc 12 spilled most of a 2 x 2 block's state and re-derived the 64-bit products: about
 * 190 cycles per block besides the MACs on the nrf52840 table. Here the block's state lives
 * in fixed registers, what does not fit in the job (hwsim_pair_job, on the caller's stack):
 *
 *   r1-r4  a00 a01 a10 a11 (rows n, n + 1 x columns 0, 1)   r5 column pointer
 *   r6     weights of row n                                   r7 depth (bytes of a row)
 *   r0     the column end in the MAC loop, the job elsewhere; r8-r12, lr temporaries
 *
 * Per block: the two biases (LDRD), the MAC loop (the 16-MAC blocks of matmul.c: two per
 * pass, entered at the second when depth % 8 == 4), then the requantization of the right
 * shift (every layer's shifts are checked < 0 by the caller): per channel 2^e once, per
 * output SMLAL of a b + 2^30 and one ADDS/ADC pair adding (2^e - [x < 0]) 2^31 (as
 * hwsim_high_mul_divide), the high word shifted by e; then two outputs per word saturated
 * to int16, packed (PKHBT), offset and clamped (QADD16, SSUB16/SEL) and stored as
 * halfwords, as hwsim_clamp_pair does. */
#include "hwsim_int8_internal.h"

#if HWSIM_DSP
#include <stddef.h>

_Static_assert(offsetof(hwsim_pair_job, x0) == 0 && offsetof(hwsim_pair_job, x_end) == 4 &&
               offsetof(hwsim_pair_job, bias) == 8 && offsetof(hwsim_pair_job, multiplier) == 12
               && offsetof(hwsim_pair_job, shift) == 16 && offsetof(hwsim_pair_job, y0) == 20 &&
               offsetof(hwsim_pair_job, rows) == 24 && offsetof(hwsim_pair_job, pairs) == 28 &&
               offsetof(hwsim_pair_job, offset2) == 32 && offsetof(hwsim_pair_job, w) == 44 &&
               offsetof(hwsim_pair_job, depth) == 48,
               "hwsim_pair_job layout used by the assembly below");

/* Function entry: the job in r0 kept at [sp], weights and depth in r6, r7. */
#define ENTRY(name)                                                                       \
    "\t.text\n\t.align 2\n\t.global " name "\n\t.thumb\n\t.thumb_func\n"                     \
    "\t.type " name ", %function\n" name ":\n"                                              \
    "\tpush    {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n"                                    \
    "\tpush    {r0}\n"                                                                      \
    "\tldr     r6, [r0, #44]\n"                                                             \
    "\tldr     r7, [r0, #48]\n"
/* Block start: biases of rows n, n + 1 into both columns' accumulators, r5 = x0, r0 = end. */
#define BLOCK_START                                                                       \
    "1:\n"                                                                                  \
    "\tldr     r0, [sp]\n"                                                                  \
    "\tldr     r8, [r0, #8]\n"                                                              \
    "\tldrd    r1, r3, [r8], #8\n"                                                          \
    "\tstr     r8, [r0, #8]\n"                                                              \
    "\tmov     r2, r1\n"                                                                    \
    "\tmov     r4, r3\n"                                                                    \
    "\tldrd    r5, r0, [r0]\n"                                                              \
    "\ttst     r7, #4\n"                                                                    \
    "\tbne     3f\n"
/* One output: a = (a m + 2^30 + (p - [x < 0]) 2^31) >> (32 + e), p = 2^e. */
#define OUT(a, m, e, p)                                                                   \
    "\tmov     r8, #0x40000000\n"                                                           \
    "\tmov     lr, #0\n"                                                                    \
    "\tsmlal   r8, lr, " a ", " m "\n"                                                      \
    "\tadd     r0, " p ", lr, asr #31\n"                                                    \
    "\tadds    r8, r8, r0, lsl #31\n"                                                       \
    "\tadc     lr, lr, r0, lsr #1\n"                                                        \
    "\tasr     " a ", lr, " e "\n"
/* A word of two outputs (two int16 halfwords) offset and clamped into the low bytes of its
 * halfwords; r9-r11 hold offset2, min2, max2, r8 is scratch. */
#define CLAMP(v)                                                                          \
    "\tqadd16  " v ", " v ", r9\n"                                                          \
    "\tssub16  r8, " v ", r10\n"                                                            \
    "\tsel     " v ", " v ", r10\n"                                                         \
    "\tssub16  r8, " v ", r11\n"                                                            \
    "\tsel     " v ", r11, " v "\n"                                                         \
    "\tuxtb16  " v ", " v "\n"
/* After the MAC loop: next row pair's weights, requantize, store, count the pairs. */
#define BLOCK_END(name)                                                                   \
    "\tadd     r6, r6, r7\n"                                                                \
    "\tldr     r0, [sp]\n"                                                                  \
    "\tldr     r8, [r0, #12]\n"                                                             \
    "\tldrd    r9, r10, [r8], #8\n"                                                         \
    "\tstr     r8, [r0, #12]\n"                                                             \
    "\tldr     r8, [r0, #16]\n"                                                             \
    "\tldrd    r11, r12, [r8], #8\n"                                                        \
    "\tstr     r8, [r0, #16]\n"                                                             \
    "\tmvn     r11, r11\n"                                                                  \
    "\tmov     r5, #1\n"                                                                    \
    "\tlsl     r5, r5, r11\n"                                                               \
    OUT("r1", "r9", "r11", "r5") OUT("r2", "r9", "r11", "r5")                                \
    "\tmvn     r12, r12\n"                                                                  \
    "\tmov     r5, #1\n"                                                                    \
    "\tlsl     r5, r5, r12\n"                                                               \
    OUT("r3", "r10", "r12", "r5") OUT("r4", "r10", "r12", "r5")                              \
    "\tssat    r1, #16, r1\n"                                                               \
    "\tssat    r3, #16, r3\n"                                                               \
    "\tpkhbt   r1, r1, r3, lsl #16\n"                                                       \
    "\tssat    r2, #16, r2\n"                                                               \
    "\tssat    r4, #16, r4\n"                                                               \
    "\tpkhbt   r2, r2, r4, lsl #16\n"                                                       \
    "\tldr     r0, [sp]\n"                                                                  \
    "\tadd     r8, r0, #32\n"                                                               \
    "\tldm     r8, {r9, r10, r11}\n"                                                        \
    CLAMP("r1") CLAMP("r2")                                                                 \
    "\torr     r1, r1, r1, lsr #8\n"                                                        \
    "\torr     r2, r2, r2, lsr #8\n"                                                        \
    "\tldrd    r8, r9, [r0, #20]\n"                                                         \
    "\tstrh    r2, [r8, r9]\n"                                                              \
    "\tstrh    r1, [r8], #2\n"                                                              \
    "\tstr     r8, [r0, #20]\n"                                                             \
    "\tldr     r8, [r0, #28]\n"                                                             \
    "\tsubs    r8, r8, #1\n"                                                                \
    "\tstr     r8, [r0, #28]\n"                                                             \
    "\tbne     1b\n"                                                                        \
    "\tadd     sp, sp, #4\n"                                                                \
    "\tpop     {r4, r5, r6, r7, r8, r9, r10, r11, pc}\n"                                    \
    "\t.size " name ", .-" name "\n"

/* int8 columns: the 16-MAC block of HWSIM_S8_BLOCK (four loads, eight SXTB16, eight SMLAD;
 * column 1 and row n + 1 `depth` bytes after column 0 and row n). */
#define S8_BLOCK                                                                          \
    "\tldr     r8, [r6, r7]\n"                                                              \
    "\tldr     r9, [r6], #4\n"                                                              \
    "\tsxtb16  r10, r8\n"                                                                   \
    "\tsxtb16  r8, r8, ror #8\n"                                                            \
    "\tsxtb16  r11, r9\n"                                                                   \
    "\tsxtb16  r9, r9, ror #8\n"                                                            \
    "\tldr     r12, [r5, r7]\n"                                                             \
    "\tsxtb16  lr, r12\n"                                                                   \
    "\tsxtb16  r12, r12, ror #8\n"                                                          \
    "\tsmlad   r2, r11, lr, r2\n"                                                           \
    "\tsmlad   r4, r10, lr, r4\n"                                                           \
    "\tsmlad   r2, r9, r12, r2\n"                                                           \
    "\tsmlad   r4, r8, r12, r4\n"                                                           \
    "\tldr     r12, [r5], #4\n"                                                             \
    "\tsxtb16  lr, r12\n"                                                                   \
    "\tsxtb16  r12, r12, ror #8\n"                                                          \
    "\tsmlad   r1, r11, lr, r1\n"                                                           \
    "\tsmlad   r3, r10, lr, r3\n"                                                           \
    "\tsmlad   r1, r9, r12, r1\n"                                                           \
    "\tsmlad   r3, r8, r12, r3\n"

__asm__(".syntax unified\n"
        ENTRY("hwsim_pairs_s8")
        BLOCK_START
        "2:\n" S8_BLOCK
        "3:\n" S8_BLOCK
        "\tcmp     r5, r0\n"
        "\tbne     2b\n"
        BLOCK_END("hwsim_pairs_s8"));

/* The last row (channel n) of two columns x0 and x0 + depth into y0[n] and y0[rows + n]
 * (y points at y0[n], rows = n + 1), after the assembly row passes. */
static void last_row_s8(const hwsim_requant *rq, const int8_t *x0, int32_t depth,
                        const int8_t *w0, int32_t a00, int8_t *y, int32_t n)
{
    const int8_t *x1 = x0 + depth;
    int32_t a01 = a00;
    for (int32_t k = 0; k < depth; k++) {
        a00 += w0[k] * x0[k];
        a01 += w0[k] * x1[k];
    }
    y[0] = hwsim_output(a00, *rq, n);
    y[n + 1] = hwsim_output(a01, *rq, n);
}

void hwsim_mat_pairs_s8(const hwsim_quant *quant, const hwsim_channel_quant *channels,
                        const int8_t *x, int32_t columns, int32_t depth,
                        const int8_t *w, int32_t rows, const int32_t *bias, int8_t *y)
{
    const hwsim_requant rq = hwsim_requant_of(quant, channels);
    int32_t m = 0;
    const int32_t pairs = hwsim_pairs_fit(&rq, depth, rows, bias) ? columns & ~1 : 0;
    for (; m < pairs; m += 2) {
        hwsim_pair_job job = hwsim_pair_job_of(&rq, w, depth, rows, bias);
        job.x0 = x + m * depth;
        job.x_end = x + m * depth + depth;
        job.y0 = y + m * rows;
        hwsim_pairs_s8(&job);
        if (rows & 1)
            last_row_s8(&rq, x + m * depth, depth, w + (rows - 1) * depth, bias[rows - 1],
                        y + m * rows + rows - 1, rows - 1);
    }
    hwsim_mat_s8_s8(quant, channels, x + m * depth, columns - m, depth, w, rows, bias,
                    y + m * rows);
}

/* The 3x3 depthwise kernel, one output pixel (hwsim_dw_job): per group of four channels
 * the four biases (LDM), the nine taps of depthwise.c's HWSIM_TAP (per tap two loads, four
 * SXTB16, four SMLABB/SMLATT), then per channel the requantization above and the four
 * outputs clamped in two words and stored as one. Registers in the taps:
 *
 *   r1-r4  channels c .. c + 3     r5, r6  input and weight taps of channel c
 *   r11    c_count (s)             r12     2 s           lr  a scratch row's bytes
 *   r0     the job                 r7-r10  temporaries
 */
#define DW_TAP(dx)                                                                        \
    "\tldr     r7, [r5" dx "]\n"                                                            \
    "\tldr     r8, [r6" dx "]\n"                                                            \
    "\tsxtb16  r9, r7\n"                                                                    \
    "\tsxtb16  r7, r7, ror #8\n"                                                            \
    "\tsxtb16  r10, r8\n"                                                                   \
    "\tsxtb16  r8, r8, ror #8\n"                                                            \
    "\tsmlabb  r1, r10, r9, r1\n"                                                           \
    "\tsmlatt  r3, r10, r9, r3\n"                                                           \
    "\tsmlabb  r2, r8, r7, r2\n"                                                            \
    "\tsmlatt  r4, r8, r7, r4\n"
#define DW_ROW DW_TAP("") DW_TAP(", r11") DW_TAP(", r12")
/* Channel c + i (accumulator a): multiplier and shift at byte `offset` of r12, r11. */
#define DW_OUT(a, offset)                                                                 \
    "\tldr     r7, [r12, #" offset "]\n"                                                    \
    "\tldr     r8, [r11, #" offset "]\n"                                                    \
    "\tmvn     r8, r8\n"                                                                    \
    "\tmov     r9, #1\n"                                                                    \
    "\tlsl     r9, r9, r8\n"                                                                \
    "\tmov     r10, #0x40000000\n"                                                          \
    "\tmov     lr, #0\n"                                                                    \
    "\tsmlal   r10, lr, " a ", r7\n"                                                        \
    "\tadd     r9, r9, lr, asr #31\n"                                                       \
    "\tadds    r10, r10, r9, lsl #31\n"                                                     \
    "\tadc     lr, lr, r9, lsr #1\n"                                                        \
    "\tasr     " a ", lr, r8\n"

_Static_assert(offsetof(hwsim_dw_job, x) == 0 && offsetof(hwsim_dw_job, w) == 4 &&
               offsetof(hwsim_dw_job, bias) == 8 && offsetof(hwsim_dw_job, multiplier) == 12 &&
               offsetof(hwsim_dw_job, shift) == 16 && offsetof(hwsim_dw_job, y) == 20 &&
               offsetof(hwsim_dw_job, groups) == 24 && offsetof(hwsim_dw_job, offset2) == 28 &&
               offsetof(hwsim_dw_job, s) == 40, "hwsim_dw_job layout used by the assembly");

__asm__(".syntax unified\n"
        "\t.text\n\t.align 2\n\t.global hwsim_dw3x3_groups\n\t.thumb\n\t.thumb_func\n"
        "\t.type hwsim_dw3x3_groups, %function\n"
        "hwsim_dw3x3_groups:\n"
        "\tpush    {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n"
        "\tldrd    r5, r6, [r0]\n"
        "1:\n"
        "\tadd     r7, r0, #40\n"
        "\tldm     r7, {r11, r12, lr}\n"
        "\tldr     r7, [r0, #8]\n"
        "\tldm     r7!, {r1, r2, r3, r4}\n"
        "\tstr     r7, [r0, #8]\n"
        DW_ROW
        "\tadd     r5, r5, lr\n"
        "\tadd     r6, r6, r12\n"
        "\tadd     r6, r6, r11\n"
        DW_ROW
        "\tadd     r5, r5, lr\n"
        "\tadd     r6, r6, r12\n"
        "\tadd     r6, r6, r11\n"
        DW_ROW
        "\tsub     r5, r5, lr, lsl #1\n"       /* back to the first row, next group */
        "\tadd     r5, r5, #4\n"
        "\tsub     r6, r6, r12, lsl #1\n"
        "\tsub     r6, r6, r12\n"
        "\tadd     r6, r6, #4\n"
        "\tldrd    r12, r11, [r0, #12]\n"
        DW_OUT("r1", "0") DW_OUT("r2", "4") DW_OUT("r3", "8") DW_OUT("r4", "12")
        "\tadd     r12, r12, #16\n"
        "\tadd     r11, r11, #16\n"
        "\tstrd    r12, r11, [r0, #12]\n"
        "\tssat    r1, #16, r1\n"
        "\tssat    r3, #16, r3\n"
        "\tpkhbt   r1, r1, r3, lsl #16\n"          /* channels c, c + 2 */
        "\tssat    r2, #16, r2\n"
        "\tssat    r4, #16, r4\n"
        "\tpkhbt   r2, r2, r4, lsl #16\n"          /* channels c + 1, c + 3 */
        "\tadd     r7, r0, #28\n"
        "\tldm     r7, {r9, r10, r11}\n"
        CLAMP("r1") CLAMP("r2")
        "\torr     r1, r1, r2, lsl #8\n"
        "\tldr     r7, [r0, #20]\n"
        "\tstr     r1, [r7], #4\n"
        "\tstr     r7, [r0, #20]\n"
        "\tldr     r7, [r0, #24]\n"
        "\tsubs    r7, r7, #1\n"
        "\tstr     r7, [r0, #24]\n"
        "\tbne     1b\n"
        "\tpop     {r4, r5, r6, r7, r8, r9, r10, r11, pc}\n"
        "\t.size hwsim_dw3x3_groups, .-hwsim_dw3x3_groups\n");
#endif
