/* Shared by the kernels of cores without a multiplier (RV32I/E: every product is a call
 * of libgcc's shift-and-add __mulsi3 / __muldi3, whose loops run over the bits of their
 * second operand): soft_walk.c, conv_soft.c, depthwise_soft.c. Each product is
 * sign-magnitude so that the operand a routine loops over is one the graph fixes: a MAC
 * calls __mulsi3(x + offset, |w|) and applies the weight's sign after; the
 * requantization's 64-bit product |acc| x multiplier (hwsim_high_mul with
 * HWSIM_SIGN_MAGNITUDE, which HWSIM_SOFT_KERNELS turns on). No product of two shape values
 * is formed (it would be a __mulsi3 call looping over a shape's bits): strides are sums
 * (`times`), pointers advance by them. The windows are clipped to the input as in
 * conv_scalar and depthwise (the input offset added per tap, the plain bias). Elsewhere
 * the same C compiles to plain multiplies. One file per kernel and one for their walk:
 * firmware links only those it calls. */
#ifndef HWSIM_INT8_SOFT_H
#define HWSIM_INT8_SOFT_H

#define HWSIM_SOFT_KERNELS 1
#include "hwsim_int8_internal.h"

#if HWSIM_SIGN_MAGNITUDE
int __mulsi3(int a, int b);
#endif

/* acc + x w: __mulsi3(x, |w|) with w's sign applied after (no multiplier), else x w. */
static inline int32_t soft_mac(int32_t acc, int32_t x, int32_t w)
{
#if HWSIM_SIGN_MAGNITUDE
    const int32_t sign = w >> 31;
    const int32_t product = __mulsi3(x, (w ^ sign) - sign);
    return acc + ((product ^ sign) - sign);
#else
    return acc + x * w;
#endif
}

/* n x step (n >= 0) as n additions: the empty asm keeps gcc from turning the loop back
 * into a multiply. */
static inline int32_t times(int32_t n, int32_t step)
{
    int32_t sum = 0;
    for (; n > 0; n--) {
        sum += step;
        __asm__("" : "+r"(sum));
    }
    return sum;
}

/* What a pixel function needs besides its window: copied once per call. */
typedef struct {
    hwsim_requant rq;
    const int32_t *bias;
    int32_t c, out_c;        /* input channels; output channels (depthwise: c) */
    int32_t row_in, row_w;   /* bytes of an input row (w c) and of a weight row (kw c) */
    int32_t filter;          /* weights per output channel (conv: kh kw c) */
    int32_t offset;          /* the input offset, added per tap */
} soft_job;

/* One output pixel: its clipped window (x and w at its first tap inside, `rows` rows of
 * `cols` taps) into y[0 .. out_c). */
typedef void (*soft_pixel)(const soft_job *job, const int8_t *xs, const int8_t *ws,
                           int32_t rows, int32_t cols, int8_t *y);

/* Both kernels' walk over the output pixels: the window of each clipped to the input
 * per output row (rows skipped at the top) and per pixel (columns skipped at the left),
 * every stride a sum, then the kernel's pixel function. */
void hwsim_soft_walk(soft_job *job, const hwsim_quant *quant,
                     const hwsim_channel_quant *channels, const hwsim_shape *input,
                     const int8_t *x, int32_t kh, int32_t kw, const int8_t *w,
                     const hwsim_window *window, const hwsim_shape *output, int8_t *y,
                     soft_pixel pixel);

#endif
