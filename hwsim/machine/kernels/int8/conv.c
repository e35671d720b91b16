/* Convolutions: im2col into an int16 buffer plus the blocked matrix kernel, and 1x1
 * convolutions as one matrix product on the input as it lies (NHWC: a pixel's channels
 * are contiguous, so each pixel already is a column). The input offset is folded into the
 * bias (hwsim.ir.int8_kernels.folded_bias): padded taps hold the zero point, so that
 * their w x cancels their share of the fold, as TFLite's padding adds nothing. */
#include "hwsim_int8_internal.h"

int32_t hwsim_conv_s8_scratch_bytes(const hwsim_shape *input, int32_t kh, int32_t kw)
{
    return 2 * kh * kw * input->c * (int32_t)sizeof(int16_t);
}

/* Where element k of a patch goes in the im2col column: with DSP, groups of four are
 * stored x0 x2 x1 x3 (the order SXTB16 of a weight word and of it rotated by 8 needs). */
static inline int32_t column_slot(int32_t k, int32_t depth4)
{
#if HWSIM_DSP
    if (k < depth4) {
        int32_t r = k & 3;
        return (k & ~3) + ((r == 1) ? 2 : (r == 2) ? 1 : r);
    }
#else
    (void)depth4;
#endif
    return k;
}

static void im2col(const hwsim_shape *input, const int8_t *x, int32_t offset,
                   int32_t kh, int32_t kw, int32_t iy0, int32_t ix0, int16_t *column)
{
    const int32_t c = input->c;
    const int32_t depth = kh * kw * c;
    const int32_t depth4 = depth & ~3;
    int32_t k = 0;
    for (int32_t ky = 0; ky < kh; ky++) {
        int32_t iy = iy0 + ky;
        for (int32_t kx = 0; kx < kw; kx++) {
            int32_t ix = ix0 + kx;
            if (iy < 0 || iy >= input->h || ix < 0 || ix >= input->w) {
                for (int32_t i = 0; i < c; i++, k++)
                    column[column_slot(k, depth4)] = (int16_t)(-offset);   /* the zero point */
            } else {
                const int8_t *p = x + (iy * input->w + ix) * c;
                for (int32_t i = 0; i < c; i++, k++)
                    column[column_slot(k, depth4)] = p[i];
            }
        }
    }
}

#if HWSIM_V6M
/* Armv6-M: the patch stays int8 (padded taps hold the zero point, -input_offset) for the
 * 1x4 MULS kernel; widening first would cost a store per tap. */
static void im2col_s8(const hwsim_shape *input, const int8_t *x, int32_t offset,
                      int32_t kh, int32_t kw, int32_t iy0, int32_t ix0, int8_t *column)
{
    const int32_t c = input->c;
    for (int32_t ky = 0; ky < kh; ky++) {
        int32_t iy = iy0 + ky;
        for (int32_t kx = 0; kx < kw; kx++, column += c) {
            int32_t ix = ix0 + kx;
            if (iy < 0 || iy >= input->h || ix < 0 || ix >= input->w) {
                for (int32_t i = 0; i < c; i++)
                    column[i] = (int8_t)(-offset);
            } else {
                const int8_t *p = x + (iy * input->w + ix) * c;
                for (int32_t i = 0; i < c; i++)
                    column[i] = p[i];
            }
        }
    }
}
#endif

void hwsim_conv_s8(const hwsim_quant *quant, const hwsim_channel_quant *channels,
                   const hwsim_shape *input, const int8_t *x,
                   int32_t kh, int32_t kw, const int8_t *w, const int32_t *bias,
                   const hwsim_window *window, const hwsim_shape *output, int8_t *y,
                   int16_t *scratch)
{
    const int32_t depth = kh * kw * input->c;
    /* Output pixels in row-major order, no division (Armv6-M has no divider: __divsi3's
     * time would depend on the operands). */
#if HWSIM_V6M
    int8_t *patch = (int8_t *)scratch;
    int8_t *out = y;
    for (int32_t oy = 0; oy < output->h; oy++) {
        for (int32_t ox = 0; ox < output->w; ox++, out += output->c) {
            im2col_s8(input, x, quant->input_offset, kh, kw,
                      oy * window->stride_h - window->pad_top,
                      ox * window->stride_w - window->pad_left, patch);
            hwsim_mat_s8_s8(quant, channels, patch, 1, depth, w, output->c, bias, out);
        }
    }
    return;
#endif
    int32_t filled = 0, first = 0, p = 0;
    for (int32_t oy = 0; oy < output->h; oy++) {
        for (int32_t ox = 0; ox < output->w; ox++, p++) {
            im2col(input, x, quant->input_offset, kh, kw,
                   oy * window->stride_h - window->pad_top,
                   ox * window->stride_w - window->pad_left, scratch + filled * depth);
            if (++filled == 2) {
                hwsim_mat_s8_s16(quant, channels, scratch, 2, depth, w, output->c, bias,
                                 y + first * output->c);
                filled = 0;
                first = p + 1;
            }
        }
    }
    if (filled)
        hwsim_mat_s8_s16(quant, channels, scratch, 1, depth, w, output->c, bias,
                         y + first * output->c);
}

void hwsim_conv_1x1_s8(const hwsim_quant *quant, const hwsim_channel_quant *channels,
                       const hwsim_shape *input, const int8_t *x,
                       const int8_t *w, const int32_t *bias, const hwsim_shape *output,
                       int8_t *y)
{
#if HWSIM_DSP
    if (input->h * input->w > 1)    /* pairs of pixels in assembly (dsp_passes.c) */
        hwsim_mat_pairs_s8(quant, channels, x, input->h * input->w, input->c, w, output->c,
                           bias, y);
    else
#endif
    hwsim_mat_s8_s8(quant, channels, x, input->h * input->w, input->c, w, output->c, bias, y);
}
