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
/* Arm: the pass over a window row's inputs is hand-allocated (lut_asm.h). */
#define HWSIM_LUT_ASM 1
#define HWSIM_LUT_ASM_V6M (HWSIM_LUT_BLOCK == 4)
#include "lut_asm.h"
#else
#define HWSIM_LUT_ASM 0
#define HWSIM_LUT_ASM_V6M 0
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
 * hand-allocated pass Armv6-M doubles the index while taking it out of the codes' word
 * (Thumb-1 has no scaled register offset: a shift and an AND with 0x1fe instead of two
 * shifts), Armv7E-M in the entry's load (LDRSH with LSL #1, free). In C the index is doubled behind an empty asm: knowing it is 8-bit, gcc -mcpu=cortex-m4 would
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
#if HWSIM_LUT_ASM_V6M
#define HWSIM_LUT_ASM_LOAD "ldrsh %[t], [%[rw], %[t]]\n\t"
#define HWSIM_LUT_ASM_CODE0 HWSIM_LUT_INDEX_CODE0
#define HWSIM_LUT_ASM_CODE1 HWSIM_LUT_INDEX_CODE1
#define HWSIM_LUT_ASM_CODE2 HWSIM_LUT_INDEX_CODE2
#define HWSIM_LUT_ASM_CODE3 HWSIM_LUT_INDEX_CODE3
#define HWSIM_LUT_ASM_MASK , [mask] "l"(0x1feu)
#define HWSIM_LUT_ASM_XE(v) "m"(v)
#define HWSIM_LUT_ASM_END HWSIM_LUT_ASM_END_LOADED
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
