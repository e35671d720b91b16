/* The grouped lut dense kernel (hwsim_lut_grouped.h).
 *
 * Longer than 300 lines: the group table's builds (input by input, the two halves, their
 * crossing) and the Arm assembly of the crossing and of the Armv6-M lookup pass live
 * beside the one kernel they serve (the straight-line K = 4 builds of Arm cores in
 * lut_grouped_arm.inc). The builds are inlined into it (always_inline: as
 * when it was their one caller) and exported once more as hwsim_lut_grouped_build for
 * the grouped convolution. */
#include "hwsim_lut_grouped.h"

#define HWSIM_LUT_GROUPED_ROW(v) \
    ((const uint16_t *)(const void *)((const uint8_t *)call->table + ((uint32_t)(v) << call->row_shift)))

/* The table of the r inputs at x into t (2^(r k_log2) entries): input 0's row, then per
 * further input j the K copies of the table so far, copy k shifted by entry k of the
 * input's row (k = K-1 first: copy 0 is the table itself, updated in place), two
 * entries a word. */
static inline __attribute__((always_inline)) void hwsim_lut_grouped_extend(
    const hwsim_lut_grouped_call *call, const uint8_t *x, int32_t r, uint16_t *t)
{
    const int32_t kn = (int32_t)1 << call->k_log2;
    const uint16_t *row = HWSIM_LUT_GROUPED_ROW(x[0]);
    for (int32_t k = 0; k < kn; k++)
        t[k] = row[k];
    int32_t words_log2 = call->k_log2 - 1;       /* log2 of the words built so far */
    for (int32_t j = 1; j < r; j++) {
        row = HWSIM_LUT_GROUPED_ROW(x[j]);
        uint32_t *const src = (uint32_t *)(void *)t;
        const int32_t words = (int32_t)1 << words_log2;
        for (int32_t k = kn - 1; k >= 0; k--) {
            const uint32_t v = (uint32_t)row[k] | ((uint32_t)row[k] << 16);
            uint32_t *dst = src + ((uint32_t)k << words_log2);
            const uint32_t *s = src;
            const uint32_t *const end = src + words;
            while (s != end) {
                dst[0] = s[0] + v;
                dst[1] = s[1] + v;
                dst += 2;
                s += 2;
            }
        }
        words_log2 += call->k_log2;
    }
}

/* A half of a full group's table, of its r = 1 or 2 inputs at x: entry k0 + (k1 << k_log2)
 * is T'[x0][k0] + T'[x1][k1], stored as uint16 or, `wide`, doubled into a word and as
 * the difference from the word before (mod 2^32: adding the differences one after the
 * other gives every entry exactly). */
static inline __attribute__((always_inline)) void hwsim_lut_grouped_half(
    const hwsim_lut_grouped_call *call, const uint8_t *x, int32_t r, void *t, int32_t wide)
{
    static const uint16_t none = 0;
    const int32_t kn = (int32_t)1 << call->k_log2;
    const uint16_t *const row0 = HWSIM_LUT_GROUPED_ROW(x[0]);
    const uint16_t *const end0 = row0 + kn;
    const uint16_t *e1 = r == 2 ? HWSIM_LUT_GROUPED_ROW(x[1]) : &none;
    const uint16_t *const end1 = r == 2 ? e1 + kn : &none + 1;
    if (call->k_log2 == 2) {                     /* K = 4: row 0 held in registers */
        const uint32_t p0 = row0[0], p1 = row0[1], p2 = row0[2], p3 = row0[3];
        if (wide) {
            uint32_t *t32 = (uint32_t *)t;
            uint32_t before = 0;
            for (; e1 != end1; e1++, t32 += 4) {
                const uint32_t b = *e1;
                uint32_t v0 = p0 + b, v1 = p1 + b, v2 = p2 + b, v3 = p3 + b;
                v0 |= v0 << 16;
                v1 |= v1 << 16;
                v2 |= v2 << 16;
                v3 |= v3 << 16;
                t32[0] = v0 - before;
                t32[1] = v1 - v0;
                t32[2] = v2 - v1;
                t32[3] = v3 - v2;
                before = v3;
            }
        } else {
            uint16_t *t16 = (uint16_t *)t;
            for (; e1 != end1; e1++, t16 += 4) {
                const uint32_t b = *e1;
                t16[0] = (uint16_t)(p0 + b);
                t16[1] = (uint16_t)(p1 + b);
                t16[2] = (uint16_t)(p2 + b);
                t16[3] = (uint16_t)(p3 + b);
            }
        }
    } else if (wide) {
        uint32_t *t32 = (uint32_t *)t;
        uint32_t before = 0;
        for (; e1 != end1; e1++) {
            const uint32_t b = *e1;
            for (const uint16_t *e = row0; e != end0; e++, t32++) {
                uint32_t v = *e + b;
                v |= v << 16;
                *t32 = v - before;
                before = v;
            }
        }
    } else {
        uint16_t *t16 = (uint16_t *)t;
        for (; e1 != end1; e1++) {
            const uint32_t b = *e1;
            for (const uint16_t *e = row0; e != end0; e++, t16++)
                *t16 = (uint16_t)(*e + b);
        }
    }
}

#if defined(__ARM_ARCH_6M__)
#define HWSIM_LUT_GROUPED_HIGH "h"     /* operands the loop keeps in r8-r12 */
#else
#define HWSIM_LUT_GROUPED_HIGH "r"
#endif

#include "lut_grouped_arm.inc"

/* The group table of the r inputs at x. A full group whose low half (g_low inputs) has
 * at least 8 entries is built as the crossing of two half tables: the low table at t
 * and the high one on the stack (at most 32 entries, as differences of doubled words);
 * then per 4 words of the low table, held in registers, for every high entry in order
 * its difference added to each word and the 4 words stored (high entry 0 over the low
 * table itself): an add and a store per word. */
static inline __attribute__((always_inline)) void hwsim_lut_grouped_table(
    const hwsim_lut_grouped_call *call, const uint8_t *x, int32_t r, uint16_t *t)
{
#if defined(__ARM_ARCH_7EM__) || defined(__ARM_ARCH_8M_MAIN__)
    if (call->k_log2 == 2 && r >= 2) {                   /* K = 4: straight-line builds */
        hwsim_lut_grouped_build_k4(call, x, r, (uint32_t *)(void *)t);
        return;
    }
#endif
    const int32_t lo = call->g_low;
    if (r != call->g || lo == 0) {
        hwsim_lut_grouped_extend(call, x, r, t);
        return;
    }
#if defined(__ARM_ARCH_6M__)
    if (r == 4 && call->k_log2 == 2) {                  /* K = 4, a full group of 4 */
        hwsim_lut_grouped_build_v6_k4(call, x, (uint32_t *)(void *)t);
        return;
    }
#endif
    uint32_t high[32];
    hwsim_lut_grouped_half(call, x, lo, t, 0);
    hwsim_lut_grouped_half(call, x + lo, r - lo, high, 1);
    uint32_t *const words = (uint32_t *)(void *)t;
    const uint32_t *const he = high + call->high_entries;
    const int32_t stride = call->low_words;
#if defined(__ARM_ARCH_7EM__) || defined(__ARM_ARCH_8M_MAIN__)
    if ((stride & 7) == 0) {
        /* Armv7E-M: 8 words held (r0-r7) when the low table has a multiple of 8. */
        const int32_t skip8 = (stride - 8) << 2;
        for (uint32_t *q = words; q != words + stride; q += 8) {
            uint32_t *out = q;
            const uint32_t *h = high;
            uint32_t d;
            __asm__ volatile(".syntax unified\n\t"
                             "ldmia %[out], {r0, r1, r2, r3, r4, r5, r6, r7}\n"
                             "1:\n\t"
                             "ldr %[d], [%[h]], #4\n\t"
                             "add r0, r0, %[d]\n\tadd r1, r1, %[d]\n\t"
                             "add r2, r2, %[d]\n\tadd r3, r3, %[d]\n\t"
                             "add r4, r4, %[d]\n\tadd r5, r5, %[d]\n\t"
                             "add r6, r6, %[d]\n\tadd r7, r7, %[d]\n\t"
                             "stmia %[out]!, {r0, r1, r2, r3, r4, r5, r6, r7}\n\t"
                             "add %[out], %[out], %[skip]\n\t"
                             "cmp %[h], %[he]\n\tbne 1b\n\t.syntax divided\n"
                             : [h] "+r"(h), [out] "+r"(out), [d] "=&r"(d)
                             : [he] "r"(he), [skip] "r"(skip8)
                             : "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "cc", "memory");
        }
        return;
    }
#endif
    const int32_t skip = (stride - 4) << 2;               /* bytes between slices */
    for (uint32_t *q = words; q != words + stride; q += 4) {
        uint32_t *out = q;
        const uint32_t *h = high;
#if defined(__ARM_ARCH_6M__) || defined(__ARM_ARCH_7EM__) || defined(__ARM_ARCH_8M_MAIN__)
        /* Arm: LDMIA of the difference, four ADDS, STMIA (gcc forms neither here). */
        uint32_t d;
        __asm__ volatile(".syntax unified\n\t"
                         "ldmia %[out]!, {r0, r1, r2, r3}\n\t"
                         "subs %[out], %[out], #16\n"
                         "1:\n\t"
                         "ldmia %[h]!, {%[d]}\n\t"
                         "adds r0, r0, %[d]\n\tadds r1, r1, %[d]\n\t"
                         "adds r2, r2, %[d]\n\tadds r3, r3, %[d]\n\t"
                         "stmia %[out]!, {r0, r1, r2, r3}\n\t"
                         "add %[out], %[skip]\n\t"
                         "cmp %[h], %[he]\n\tbne 1b\n\t.syntax divided\n"
                         : [h] "+l"(h), [out] "+l"(out), [d] "=&l"(d)
                         : [he] HWSIM_LUT_GROUPED_HIGH(he), [skip] HWSIM_LUT_GROUPED_HIGH(skip)
                         : "r0", "r1", "r2", "r3", "cc", "memory");
#else
        uint32_t a0 = q[0], a1 = q[1], a2 = q[2], a3 = q[3];
        while (h != he) {
            const uint32_t d = *h++;
            a0 += d;
            a1 += d;
            a2 += d;
            a3 += d;
            out[0] = a0;
            out[1] = a1;
            out[2] = a2;
            out[3] = a3;
            HWSIM_LUT_GROUPED_STEP(out, stride);
        }
#endif
    }
}

/* The group table build as a function of its own, for the grouped convolution (the dense
 * kernel has it inlined). */
void hwsim_lut_grouped_build(const hwsim_lut_grouped_call *call, const uint8_t *x, int32_t r,
                             uint16_t *t)
{
    hwsim_lut_grouped_table(call, x, r, t);
}

/* The level of a sum by the binary search over the padded bounds. */
static uint32_t hwsim_lut_grouped_level(int32_t sum, const int32_t *bounds, int32_t steps)
{
    const int32_t *p = bounds;
    for (int32_t s = steps > 0 ? (int32_t)1 << (steps - 1) : 0; s > 0; s >>= 1)
        p += sum >= p[s] ? s : 0;
    return (uint32_t)(p - bounds);
}

/* Store unit o's output after the last chunk: its level, or its sum. */
__attribute__((noinline)) void hwsim_lut_grouped_store(const hwsim_lut_grouped_call *call,
                                                       void *y, int32_t o, int32_t sum)
{
    if (call->bounds)
        ((uint8_t *)y)[o] = (uint8_t)hwsim_lut_grouped_level(sum, call->bounds, call->steps);
    else
        ((int32_t *)y)[o] = sum;
}

void hwsim_lut_grouped_dense(const hwsim_lut_grouped_call *call, const uint8_t *x, void *y)
{
    if (call->tables) {
        hwsim_lut_grouped_flash_dense(call, x, y);
        return;
    }
    const int32_t units = call->units, groups = call->groups, g = call->g;
    const int32_t table_bytes = (int32_t)1 << call->table_shift;
    const int32_t *const bias = call->bias;
    int32_t *const acc = call->acc;
    uint8_t *const scratch = (uint8_t *)(void *)call->scratch;
    const uint8_t *xg = x;
    int32_t inputs = call->fan;
    int32_t wchunk = 0;                          /* first * HWSIM_LUT_GROUPED_BLOCK */
    for (int32_t first = 0; first < groups; HWSIM_LUT_GROUPED_STEP(first, call->chunk),
         HWSIM_LUT_GROUPED_STEP(wchunk, call->chunk_block)) {
        const int32_t n = groups - first < call->chunk ? groups - first : call->chunk;
        const int32_t last = first + n == groups;
        uint8_t *t = scratch;
        for (int32_t i = 0; i < n; i++, HWSIM_LUT_GROUPED_STEP(t, table_bytes)) {
            const int32_t r = inputs < g ? inputs : g;
            hwsim_lut_grouped_table(call, xg, r, (uint16_t *)(void *)t);
            xg += r;
            inputs -= r;
        }
        const uint8_t *const tend = t;
        const uint8_t *wb = call->w + wchunk;
        int32_t o = 0;
        for (; o + HWSIM_LUT_GROUPED_BLOCK <= units; o += HWSIM_LUT_GROUPED_BLOCK,
             HWSIM_LUT_GROUPED_STEP(wb, call->groups_block)) {
            const int32_t *const start = first ? acc : bias;
            int32_t a0 = start[o], a1 = start[o + 1], a2 = start[o + 2], a3 = start[o + 3];
            const uint8_t *wp = wb;
#if defined(__ARM_ARCH_6M__)
            /* Armv6-M: two groups a pass, the sums in r8-r11 (gcc spills when unrolled), a
             * group's 4 combined indices one word load (the weights are word-aligned). */
            const uint8_t *gt = scratch;
            if (n & 1) {
                const uint16_t *const e = (const uint16_t *)(const void *)gt;
                a0 += e[wp[0]];
                a1 += e[wp[1]];
                a2 += e[wp[2]];
                a3 += e[wp[3]];
                wp += HWSIM_LUT_GROUPED_BLOCK;
                HWSIM_LUT_GROUPED_STEP(gt, table_bytes);
            }
            if (gt != tend) {
                uint32_t t, w;
                __asm__(".syntax unified\n"
                        "1:\n\t"
                        HWSIM_LUT_GROUPED_ASM_GROUP "adds %[gt], %[gt], %[tb]\n\t"
                        HWSIM_LUT_GROUPED_ASM_GROUP "adds %[gt], %[gt], %[tb]\n\t"
                        "cmp %[gt], %[end]\n\tbne 1b\n\t.syntax divided\n"
                        : [a0] "+h"(a0), [a1] "+h"(a1), [a2] "+h"(a2), [a3] "+h"(a3),
                          [wp] "+l"(wp), [gt] "+l"(gt), [c] "=&l"(w), [t] "=&l"(t)
                        : [tb] "l"(table_bytes), [end] "h"(tend), [m] "l"(0x1feu)
                        : "cc", "memory");
            }
#else
            /* The block's 4 combined indices of a group as one word load (the weights are
             * word-aligned, little-endian), each byte taken out of it. */
#pragma GCC unroll 2
            for (const uint8_t *gt = scratch; gt != tend; HWSIM_LUT_GROUPED_STEP(gt, table_bytes)) {
                const uint16_t *const e = (const uint16_t *)(const void *)gt;
                const uint32_t c = *(const uint32_t *)(const void *)wp;
                a0 += e[c & 0xff];
                a1 += e[(c >> 8) & 0xff];
                a2 += e[(c >> 16) & 0xff];
                a3 += e[c >> 24];
                wp += HWSIM_LUT_GROUPED_BLOCK;
            }
#endif
            if (last) {
                hwsim_lut_grouped_store(call, y, o, a0);
                hwsim_lut_grouped_store(call, y, o + 1, a1);
                hwsim_lut_grouped_store(call, y, o + 2, a2);
                hwsim_lut_grouped_store(call, y, o + 3, a3);
            } else {                             /* the sums wait for the next chunk */
                acc[o] = a0;
                acc[o + 1] = a1;
                acc[o + 2] = a2;
                acc[o + 3] = a3;
            }
        }
        /* The units after the blocks, one at a time (w[group]). */
        const uint8_t *ws = wb - wchunk + first;
        for (; o < units; o++, HWSIM_LUT_GROUPED_STEP(ws, groups)) {
            int32_t a = first ? acc[o] : bias[o];
            const uint8_t *wp = ws;
            for (const uint8_t *gt = scratch; gt != tend; HWSIM_LUT_GROUPED_STEP(gt, table_bytes))
                a += ((const uint16_t *)(const void *)gt)[*wp++];
            if (last)
                hwsim_lut_grouped_store(call, y, o, a);
            else
                acc[o] = a;
        }
    }
}
