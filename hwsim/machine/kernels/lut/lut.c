/* The lut kernels (hwsim_lut.h): one template (lut_kernels.inc) instantiated per table
 * entry width and weight encoding; hwsim_lut_config.h says which functions a build needs
 * (HWSIM_LUT_USE_<kernel>_<variant>: a network's program holds only the ones it calls). */
#include "hwsim_lut.h"

#define HWSIM_CAT2(a, b) a##b
#define HWSIM_CAT(a, b) HWSIM_CAT2(a, b)

/* v += step, the result hidden from gcc's induction-variable analysis: otherwise gcc
 * computes a loop's exit values as trip count x step, a multiply the lut style has not. */
#define HWSIM_LUT_STEP(v, step) __extension__({ (v) += (step); __asm__("" : "+r"(v)); })

#if (defined(__ARM_ARCH_6M__) && HWSIM_LUT_BLOCK == 4) ||                              \
    ((defined(__ARM_ARCH_7EM__) || defined(__ARM_ARCH_8M_MAIN__)) && HWSIM_LUT_BLOCK == 7)
/* Arm: gcc spills a blocked loop's registers, so the pass over the inputs is
 * hand-allocated. Per input LDRB of its level, LSLS by the row shift and ADD of the table
 * (the row pointer); per connection LDRB of the weight's offset, the entry's load from
 * [row, offset] and ADD: the bound. Armv6-M: four accumulators in r8-r11 (ADD reaches
 * the high registers, loads only the low ones), eight inputs per pass (the most LDRB's
 * 5-bit offset reaches); Armv7E-M: seven accumulators (with the pointers, the row shift
 * and two temporaries every register but sp and pc), four inputs per pass. */
#define HWSIM_LUT_ASM 1
#define HWSIM_LUT_STR2(s) #s
#define HWSIM_LUT_STR(s) HWSIM_LUT_STR2(s)
#define HWSIM_LUT_ASM_INPUT(k)                                                        \
    "ldrb %[rw], [%[xp], #" HWSIM_LUT_STR(k) "]\n\t"                                   \
    "lsls %[rw], %[shift]\n\t"                                                        \
    "add  %[rw], %[table]\n\t"
#define HWSIM_LUT_ASM_CONNECTION(k, acc)                                              \
    "ldrb %[t], [%[wp], #" HWSIM_LUT_STR(k) "]\n\t"                                    \
    HWSIM_LUT_ASM_LOAD                                                                \
    "add  %[" #acc "], %[t]\n\t"
#define HWSIM_LUT_ASM_LOOP(inputs, weights)                                           \
    "adds %[xp], #" HWSIM_LUT_STR(inputs) "\n\tadds %[wp], #" HWSIM_LUT_STR(weights)    \
    "\n\tcmp %[xp], %[xe]\n\tbne 1b\n\t.syntax divided\n"
#if HWSIM_LUT_BLOCK == 4
#define HWSIM_LUT_ASM_UNROLL 8
#define HWSIM_LUT_ASM_BLOCK(k, w)                                                     \
    HWSIM_LUT_ASM_INPUT(k)                                                            \
    HWSIM_LUT_ASM_CONNECTION(w, a0) HWSIM_LUT_ASM_CONNECTION(w + 1, a1)               \
    HWSIM_LUT_ASM_CONNECTION(w + 2, a2) HWSIM_LUT_ASM_CONNECTION(w + 3, a3)
#define HWSIM_LUT_ASM_STEP                                                            \
    HWSIM_LUT_ASM_BLOCK(0, 0) "adds %[xp], #1\n\tadds %[wp], #4\n\t.syntax divided\n"
#define HWSIM_LUT_ASM_PASS                                                            \
    HWSIM_LUT_ASM_BLOCK(0, 0) HWSIM_LUT_ASM_BLOCK(1, 4) HWSIM_LUT_ASM_BLOCK(2, 8)       \
    HWSIM_LUT_ASM_BLOCK(3, 12) HWSIM_LUT_ASM_BLOCK(4, 16) HWSIM_LUT_ASM_BLOCK(5, 20)    \
    HWSIM_LUT_ASM_BLOCK(6, 24) HWSIM_LUT_ASM_BLOCK(7, 28)                              \
    "adds %[xp], #8\n\tadds %[wp], #32\n\tcmp %[xp], %[xe]\n\t"                      \
    "beq 2f\n\tb 1b\n2:\n\t.syntax divided\n"        /* bne reaches 256 bytes back */
#define HWSIM_LUT_ASM_OUTPUTS                                                         \
    [a0] "+h"(a0), [a1] "+h"(a1), [a2] "+h"(a2), [a3] "+h"(a3), [xp] "+l"(xp),        \
    [wp] "+l"(wp), [rw] "=&l"(rw), [t] "=&l"(t)
#define HWSIM_LUT_ASM_INPUTS [xe] "l"(xe), [shift] "l"(shift), [table] "l"(table)
/* Packed codes: one LDRH (4-bit codes) or LDRB (2-bit) brings an input's four codes; a
 * code becomes its entry's byte offset by a shift (to offset x entry bytes) and an AND
 * with the mask (code mask x entry bytes), as many cycles as the byte code's LDRB; the
 * table's address waits in r12 (ADD reaches it), the loop end on the stack. */
#define HWSIM_LUT_PACK_LOAD(k)                                                        \
    HWSIM_LUT_PACK_LDR " %[wv], [%[wp], #(" HWSIM_LUT_STR(k) ")*" HWSIM_LUT_STR(HWSIM_LUT_TAP) "]\n\t"
#define HWSIM_LUT_PACK_CONNECTION(j, acc)                                             \
    "lsrs %[t], %[wv], #(" HWSIM_LUT_STR(HWSIM_LUT_PACK_BITS) "*" #j "-"                 \
    HWSIM_LUT_STR(HWSIM_LUT_ESHIFT) ")\n\tands %[t], %[mask]\n\t"                       \
    HWSIM_LUT_PACK_ENTRY "add  %[" #acc "], %[t]\n\t"
#define HWSIM_LUT_PACK_CONNECTION0(acc)                                               \
    "lsls %[t], %[wv], #" HWSIM_LUT_STR(HWSIM_LUT_ESHIFT) "\n\tands %[t], %[mask]\n\t"   \
    HWSIM_LUT_PACK_ENTRY "add  %[" #acc "], %[t]\n\t"
#define HWSIM_LUT_PACK_BLOCK(k)                                                       \
    HWSIM_LUT_PACK_LOAD(k) HWSIM_LUT_ASM_INPUT(k)                                     \
    HWSIM_LUT_PACK_CONNECTION0(a0) HWSIM_LUT_PACK_CONNECTION(1, a1)                   \
    HWSIM_LUT_PACK_CONNECTION(2, a2) HWSIM_LUT_PACK_CONNECTION(3, a3)
#define HWSIM_LUT_PACK_STEP                                                           \
    HWSIM_LUT_PACK_BLOCK(0) "adds %[xp], #1\n\tadds %[wp], #" HWSIM_LUT_STR(HWSIM_LUT_TAP) \
    "\n\t.syntax divided\n"
#define HWSIM_LUT_PACK_PASS                                                           \
    HWSIM_LUT_PACK_BLOCK(0) HWSIM_LUT_PACK_BLOCK(1) HWSIM_LUT_PACK_BLOCK(2)             \
    HWSIM_LUT_PACK_BLOCK(3) HWSIM_LUT_PACK_BLOCK(4) HWSIM_LUT_PACK_BLOCK(5)             \
    HWSIM_LUT_PACK_BLOCK(6) HWSIM_LUT_PACK_BLOCK(7)                                   \
    "adds %[xp], #8\n\tadds %[wp], #(8*" HWSIM_LUT_STR(HWSIM_LUT_TAP) ")\n\t"            \
    "ldr %[t], %[xe]\n\tcmp %[xp], %[t]\n\tbeq 2f\n\tb 1b\n2:\n\t.syntax divided\n"
#define HWSIM_LUT_PACK_OUTPUTS                                                        \
    [a0] "+h"(a0), [a1] "+h"(a1), [a2] "+h"(a2), [a3] "+h"(a3), [xp] "+l"(xp),        \
    [wp] "+l"(wp), [rw] "=&l"(rw), [t] "=&l"(t), [wv] "=&l"(wv)
#define HWSIM_LUT_PACK_INPUTS                                                         \
    [xe] "m"(xe), [shift] "l"(shift), [table] "h"(table),                             \
    [mask] "l"(((1u << HWSIM_LUT_PACK_BITS) - 1u) << HWSIM_LUT_ESHIFT)
#define HWSIM_LUT_PACK_ENTRY8 "ldrsb %[t], [%[rw], %[t]]\n\t"
#define HWSIM_LUT_PACK_ENTRY16 "ldrsh %[t], [%[rw], %[t]]\n\t"
#else
#define HWSIM_LUT_ASM_UNROLL 4
#define HWSIM_LUT_ASM_BLOCK(k, w)                                                     \
    HWSIM_LUT_ASM_INPUT(k)                                                            \
    HWSIM_LUT_ASM_CONNECTION(w, a0) HWSIM_LUT_ASM_CONNECTION(w + 1, a1)               \
    HWSIM_LUT_ASM_CONNECTION(w + 2, a2) HWSIM_LUT_ASM_CONNECTION(w + 3, a3)           \
    HWSIM_LUT_ASM_CONNECTION(w + 4, a4) HWSIM_LUT_ASM_CONNECTION(w + 5, a5)           \
    HWSIM_LUT_ASM_CONNECTION(w + 6, a6)
#define HWSIM_LUT_ASM_STEP                                                            \
    HWSIM_LUT_ASM_BLOCK(0, 0) "adds %[xp], #1\n\tadds %[wp], #7\n\t.syntax divided\n"
#define HWSIM_LUT_ASM_PASS                                                            \
    HWSIM_LUT_ASM_BLOCK(0, 0) HWSIM_LUT_ASM_BLOCK(1, 7) HWSIM_LUT_ASM_BLOCK(2, 14)       \
    HWSIM_LUT_ASM_BLOCK(3, 21) HWSIM_LUT_ASM_LOOP(4, 28)
#define HWSIM_LUT_ASM_OUTPUTS                                                         \
    [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [a4] "+r"(a4),        \
    [a5] "+r"(a5), [a6] "+r"(a6), [xp] "+r"(xp), [wp] "+r"(wp), [rw] "=&r"(rw),         \
    [t] "=&r"(t)
#define HWSIM_LUT_ASM_INPUTS [xe] "r"(xe), [shift] "r"(shift), [table] "r"(table)
/* Packed codes: one LDR (4-bit codes) or LDRH (2-bit) brings an input's seven codes; UBFX
 * takes a code out, the entry's load scales it (as many instructions as the byte code's
 * LDRB); the loop end is read from the stack (a register short). */
#define HWSIM_LUT_PACK_LOAD(k)                                                        \
    HWSIM_LUT_PACK_LDR " %[wv], [%[wp], #(" HWSIM_LUT_STR(k) ")*" HWSIM_LUT_STR(HWSIM_LUT_TAP) "]\n\t"
#define HWSIM_LUT_PACK_CONNECTION(j, acc)                                             \
    "ubfx %[t], %[wv], #(" HWSIM_LUT_STR(HWSIM_LUT_PACK_BITS) "*" #j "), #"              \
    HWSIM_LUT_STR(HWSIM_LUT_PACK_BITS) "\n\t" HWSIM_LUT_PACK_ENTRY "add  %[" #acc "], %[t]\n\t"
#define HWSIM_LUT_PACK_BLOCK(k)                                                       \
    HWSIM_LUT_PACK_LOAD(k) HWSIM_LUT_ASM_INPUT(k)                                     \
    HWSIM_LUT_PACK_CONNECTION(0, a0) HWSIM_LUT_PACK_CONNECTION(1, a1)                 \
    HWSIM_LUT_PACK_CONNECTION(2, a2) HWSIM_LUT_PACK_CONNECTION(3, a3)                 \
    HWSIM_LUT_PACK_CONNECTION(4, a4) HWSIM_LUT_PACK_CONNECTION(5, a5)                 \
    HWSIM_LUT_PACK_CONNECTION(6, a6)
#define HWSIM_LUT_PACK_STEP                                                           \
    HWSIM_LUT_PACK_BLOCK(0) "adds %[xp], #1\n\tadds %[wp], #" HWSIM_LUT_STR(HWSIM_LUT_TAP) \
    "\n\t.syntax divided\n"
#define HWSIM_LUT_PACK_PASS                                                           \
    HWSIM_LUT_PACK_BLOCK(0) HWSIM_LUT_PACK_BLOCK(1) HWSIM_LUT_PACK_BLOCK(2)             \
    HWSIM_LUT_PACK_BLOCK(3)                                                           \
    "adds %[xp], #4\n\tadds %[wp], #(4*" HWSIM_LUT_STR(HWSIM_LUT_TAP) ")\n\t"            \
    "ldr %[t], %[xe]\n\tcmp %[xp], %[t]\n\tbne 1b\n\t.syntax divided\n"
#define HWSIM_LUT_PACK_OUTPUTS                                                        \
    [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [a4] "+r"(a4),        \
    [a5] "+r"(a5), [a6] "+r"(a6), [xp] "+r"(xp), [wp] "+r"(wp), [rw] "=&r"(rw),         \
    [t] "=&r"(t), [wv] "=&r"(wv)
#define HWSIM_LUT_PACK_INPUTS [xe] "m"(xe), [shift] "r"(shift), [table] "r"(table)
#define HWSIM_LUT_PACK_ENTRY8 "ldrsb %[t], [%[rw], %[t]]\n\t"
#define HWSIM_LUT_PACK_ENTRY16 "ldrsh %[t], [%[rw], %[t], lsl #1]\n\t"
#endif
#else
#define HWSIM_LUT_ASM 0
#endif

/* The fused threshold: the branchy binary search of the generated code, walking p over
 * the padded bounds from the middle; the level is the distance walked. */
static inline uint32_t hwsim_lut_level(int32_t acc, const int32_t *bounds, int32_t half)
{
    const int32_t *p = bounds;
    for (int32_t s = half; s > 0; s >>= 1) {
        if (acc >= p[s])
            p += s;
    }
    return (uint32_t)(p - bounds);
}

/* Store one output: its level when the layer has thresholds, else its sum. One copy
 * (not inlined): every output costs the same whichever loop produced it. */
static __attribute__((noinline, unused)) void hwsim_lut_store(const hwsim_lut_layer *layer, void *y,
                                                      int32_t index, int32_t acc)
{
    if (layer->bounds) {
        const int32_t half = layer->steps > 0 ? (int32_t)1 << (layer->steps - 1) : 0;
        ((uint8_t *)y)[index] = (uint8_t)hwsim_lut_level(acc, layer->bounds, half);
    } else {
        ((int32_t *)y)[index] = acc;
    }
}

/* The instantiations: each defines the template's parameters (lut_kernels.inc, which
 * undefines them after use). Entries by width: */
#define HWSIM_LUT_AT8(row, w) ((int32_t)*(const int8_t *)((row) + (w)))
#define HWSIM_LUT_AT16(row, w) ((int32_t)*(const int16_t *)(const void *)((row) + (w)))
#define HWSIM_LUT_BIAS8(row, b) ((int32_t)((const int8_t *)(row))[b])
#define HWSIM_LUT_BIAS16(row, b) ((int32_t)((const int16_t *)(const void *)(row))[b])

/* 8-bit entries: a weight's byte offset is its index. */
#define HWSIM_LUT_SUFFIX _s8
#define HWSIM_LUT_CONV HWSIM_LUT_USE_conv_s8
#define HWSIM_LUT_DEPTHWISE HWSIM_LUT_USE_depthwise_s8
#define HWSIM_LUT_AT(row, w) HWSIM_LUT_AT8(row, w)
#define HWSIM_LUT_BIAS(row, b) HWSIM_LUT_BIAS8(row, b)
#define HWSIM_LUT_ASM_LOAD "ldrsb %[t], [%[rw], %[t]]\n\t"
#include "lut_kernels.inc"

/* 16-bit entries, weights as byte offsets into the row (K <= 128). */
#define HWSIM_LUT_SUFFIX _s16
#define HWSIM_LUT_CONV HWSIM_LUT_USE_conv_s16
#define HWSIM_LUT_DEPTHWISE HWSIM_LUT_USE_depthwise_s16
#define HWSIM_LUT_AT(row, w) HWSIM_LUT_AT16(row, w)
#define HWSIM_LUT_BIAS(row, b) HWSIM_LUT_BIAS16(row, b)
#define HWSIM_LUT_ASM_LOAD "ldrsh %[t], [%[rw], %[t]]\n\t"
#include "lut_kernels.inc"

/* 16-bit entries, weights as indices (K = 256: an offset would not fit a byte). In the
 * hand-allocated pass Armv6-M doubles the index with LSLS (Thumb-1 has no scaled register
 * offset: the one instruction beyond the bound), Armv7E-M in the entry's load (LDRSH with
 * LSL #1, free). In C the index is doubled behind an empty asm: knowing it is 8-bit, gcc -mcpu=cortex-m4 would
 * form row + 2 * index with SMLABB, a multiply. */
static inline uint32_t hwsim_lut_twice(uint32_t v)
{
    __asm__("" : "+r"(v));
    return v << 1;
}
#define HWSIM_LUT_SUFFIX _s16i
#define HWSIM_LUT_CONV HWSIM_LUT_USE_conv_s16i
#define HWSIM_LUT_DEPTHWISE HWSIM_LUT_USE_depthwise_s16i
#define HWSIM_LUT_AT(row, w) ((int32_t)*(const int16_t *)(const void *)((row) + hwsim_lut_twice(w)))
#define HWSIM_LUT_BIAS(row, b) HWSIM_LUT_BIAS16(row, b)
#if defined(__ARM_ARCH_6M__)
#define HWSIM_LUT_ASM_LOAD "lsls %[t], %[t], #1\n\tldrsh %[t], [%[rw], %[t]]\n\t"
#else
#define HWSIM_LUT_ASM_LOAD "ldrsh %[t], [%[rw], %[t], lsl #1]\n\t"
#endif
#include "lut_kernels.inc"

/* Packed weight codes (dense and convolution layers; K <= 16: 4 bits, K <= 4: 2 bits): a
 * block's codes per tap in one word (hwsim_lut.h), the index of each unit's entry; the
 * units after the blocks keep a byte code each, as in _s8 and _s16. No depthwise. */
#define HWSIM_LUT_SUFFIX _s8p4
#define HWSIM_LUT_CONV HWSIM_LUT_USE_conv_s8p4
#define HWSIM_LUT_PACK_BITS 4
#define HWSIM_LUT_ESHIFT 0
#include "lut_packed.inc"
#define HWSIM_LUT_SUFFIX _s8p2
#define HWSIM_LUT_CONV HWSIM_LUT_USE_conv_s8p2
#define HWSIM_LUT_PACK_BITS 2
#define HWSIM_LUT_ESHIFT 0
#include "lut_packed.inc"
#define HWSIM_LUT_SUFFIX _s16p4
#define HWSIM_LUT_CONV HWSIM_LUT_USE_conv_s16p4
#define HWSIM_LUT_PACK_BITS 4
#define HWSIM_LUT_ESHIFT 1
#include "lut_packed.inc"
#define HWSIM_LUT_SUFFIX _s16p2
#define HWSIM_LUT_CONV HWSIM_LUT_USE_conv_s16p2
#define HWSIM_LUT_PACK_BITS 2
#define HWSIM_LUT_ESHIFT 1
#include "lut_packed.inc"
