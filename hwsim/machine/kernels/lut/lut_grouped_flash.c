/* The grouped lut dense kernel with precomputed group tables (hwsim_lut_grouped.h,
 * hwsim_lut_grouped_flash_dense): for small L the code generator stores every group
 * table a group's input levels can select, so an inference builds none. Per group the
 * address of its table (the pattern of its input levels, shifted to a table's bytes) is
 * formed once into scratch; each block of units then does one lookup per group as the
 * built kernel does, the table's address loaded instead of stepped
 * (hwsim_lut_grouped_lookup, which the grouped convolution calls per window too). */
#include "hwsim_lut_grouped.h"

/* The table of the r inputs at x among `tables` (2^shift bytes each): pattern
 * x_0 + (x_1 << level_bits) + ... */
static const uint16_t *hwsim_lut_grouped_pattern(const uint16_t *tables, const uint8_t *x,
                                                 int32_t r, int32_t level_bits, int32_t shift)
{
    uint32_t pattern = 0;
    int32_t at = 0;
    for (int32_t j = 0; j < r; j++, HWSIM_LUT_GROUPED_STEP(at, level_bits))
        pattern |= (uint32_t)x[j] << at;
    return (const uint16_t *)(const void *)((const uint8_t *)tables + (pattern << shift));
}

#if defined(__ARM_ARCH_7EM__) || defined(__ARM_ARCH_8M_MAIN__)
/* The 4 lookups of one group: index byte k of weight word c into table e, added to ak. */
#define HWSIM_LUT_GROUPED_LOOKUP4(e, c)                                                  \
    "uxtb %[v], %[" c "]\n\tldrh %[v], [%[" e "], %[v], lsl #1]\n\tadd %[a0], %[v]\n\t"   \
    "ubfx %[v], %[" c "], #8, #8\n\tldrh %[v], [%[" e "], %[v], lsl #1]\n\t"              \
    "add %[a1], %[v]\n\t"                                                                \
    "ubfx %[v], %[" c "], #16, #8\n\tldrh %[v], [%[" e "], %[v], lsl #1]\n\t"             \
    "add %[a2], %[v]\n\t"                                                                \
    "lsr %[v], %[" c "], #24\n\tldrh %[v], [%[" e "], %[v], lsl #1]\n\tadd %[a3], %[v]\n\t"
#endif

void hwsim_lut_grouped_flash_dense(const hwsim_lut_grouped_call *call, const uint8_t *x,
                                   void *y)
{
    const int32_t g = call->g, level_bits = call->level_bits;
    const uint16_t **const tables = (const uint16_t **)(void *)call->scratch;
    int32_t inputs = call->fan;
    const uint16_t **t = tables;
    for (; inputs >= g; t++, HWSIM_LUT_GROUPED_STEP(x, g), inputs -= g)
        *t = hwsim_lut_grouped_pattern(call->tables, x, g, level_bits, call->table_shift);
    if (inputs > 0) {                             /* the short last group: K^r entries */
        int32_t shift = 1;
        for (int32_t j = 0; j < inputs; j++)
            HWSIM_LUT_GROUPED_STEP(shift, call->k_log2);
        *t = hwsim_lut_grouped_pattern(call->short_tables, x, inputs, level_bits, shift);
    }
    hwsim_lut_grouped_lookup(call, tables, y);
}

void hwsim_lut_grouped_lookup(const hwsim_lut_grouped_call *call,
                              const uint16_t *const *tables, void *y)
{
    const int32_t units = call->units;
    const uint16_t *const *const end = tables + call->groups;
    const int32_t *const bias = call->bias;
    const uint8_t *wb = call->w;
    int32_t o = 0;
    for (; o + HWSIM_LUT_GROUPED_BLOCK <= units; o += HWSIM_LUT_GROUPED_BLOCK,
         HWSIM_LUT_GROUPED_STEP(wb, call->groups_block)) {
        int32_t a0 = bias[o], a1 = bias[o + 1], a2 = bias[o + 2], a3 = bias[o + 3];
        const uint8_t *wp = wb;
#if defined(__ARM_ARCH_7EM__) || defined(__ARM_ARCH_8M_MAIN__)
        /* Two groups a pass: their table addresses and their weight words by one LDRD
         * each, then 8 extracts, halfword loads and adds (an odd group first). */
        const uint16_t *const *t = tables;
        uint32_t e0, e1, c0, c1, v;
        if (call->groups & 1)
            __asm__(".syntax unified\n\t"
                    "ldr %[e0], [%[t]], #4\n\tldr %[c0], [%[wp]], #4\n\t"
                    HWSIM_LUT_GROUPED_LOOKUP4("e0", "c0") ".syntax divided\n"
                    : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),
                      [t] "+r"(t), [wp] "+r"(wp), [e0] "=&r"(e0), [c0] "=&r"(c0),
                      [v] "=&r"(v)
                    :
                    : "memory");
        if (t != end) {
            __asm__(".syntax unified\n"
                    "1:\n\t"
                    "ldrd %[e0], %[e1], [%[t]], #8\n\t"
                    "ldrd %[c0], %[c1], [%[wp]], #8\n\t"
                    HWSIM_LUT_GROUPED_LOOKUP4("e0", "c0") HWSIM_LUT_GROUPED_LOOKUP4("e1", "c1")
                    "cmp %[t], %[end]\n\tbne 1b\n\t.syntax divided\n"
                    : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),
                      [t] "+r"(t), [wp] "+r"(wp), [e0] "=&r"(e0), [e1] "=&r"(e1),
                      [c0] "=&r"(c0), [c1] "=&r"(c1), [v] "=&r"(v)
                    : [end] "r"(end)
                    : "cc", "memory");
        }
#elif defined(__ARM_ARCH_6M__)
        /* Armv6-M: a group's table address and its 4 indices by one load each, the sums
         * in r8-r11 (gcc spills them). */
        if (tables != end) {
            const uint16_t *const *t = tables;
            const uint16_t *gt;
            uint32_t c, v;
            __asm__(".syntax unified\n"
                    "1:\n\t"
                    "ldmia %[tp]!, {%[gt]}\n\t" HWSIM_LUT_GROUPED_ASM_GROUP
                    "cmp %[tp], %[end]\n\tbne 1b\n\t.syntax divided\n"
                    : [a0] "+h"(a0), [a1] "+h"(a1), [a2] "+h"(a2), [a3] "+h"(a3),
                      [wp] "+l"(wp), [tp] "+l"(t), [gt] "=&l"(gt), [c] "=&l"(c), [t] "=&l"(v)
                    : [end] "h"(end), [m] "l"(0x1feu)
                    : "cc", "memory");
        }
#else
#pragma GCC unroll 2
        for (const uint16_t *const *t = tables; t != end; t++) {
            const uint16_t *const e = *t;
            const uint32_t c = *(const uint32_t *)(const void *)wp;   /* 4 indices a word */
            a0 += e[c & 0xff];
            a1 += e[(c >> 8) & 0xff];
            a2 += e[(c >> 16) & 0xff];
            a3 += e[c >> 24];
            wp += HWSIM_LUT_GROUPED_BLOCK;
        }
#endif
        hwsim_lut_grouped_store(call, y, o, a0);
        hwsim_lut_grouped_store(call, y, o + 1, a1);
        hwsim_lut_grouped_store(call, y, o + 2, a2);
        hwsim_lut_grouped_store(call, y, o + 3, a3);
    }
    for (const uint8_t *ws = wb; o < units; o++, HWSIM_LUT_GROUPED_STEP(ws, call->groups)) {
        int32_t a = bias[o];
        const uint8_t *wp = ws;
        for (const uint16_t *const *t = tables; t != end; t++)
            a += (*t)[*wp++];
        hwsim_lut_grouped_store(call, y, o, a);
    }
}
