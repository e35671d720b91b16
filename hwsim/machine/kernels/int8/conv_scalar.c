/* conv_scalar: the direct convolution without scratch (hwsim_int8.h), the plain loop's
 * shape of computation for small fan-in and few channels; a dense layer is its 1x1 case
 * on a 1x1 input. Its own file: firmware that does not call it does not link it. */
#include "hwsim_int8_internal.h"

static inline int32_t max32(int32_t a, int32_t b) { return a > b ? a : b; }
static inline int32_t min32(int32_t a, int32_t b) { return a < b ? a : b; }

/* acc + sum over i < n of (x[i] + offset) * w[i]: with DSP four MACs per word (two
 * SMLAD on the even and the odd bytes, offset2 = the offset in both halves), then the
 * n % 4 tail; elsewhere one MAC per byte. */
static inline int32_t dot_row(const int8_t *x, const int8_t *w, int32_t n, int32_t offset,
                              int32_t offset2, int32_t acc)
{
    int32_t i = 0;
#if HWSIM_DSP
    for (; i + 3 < n; i += 4) {
        int32_t u = hwsim_read_word(x + i), p = hwsim_read_word(w + i);
        acc = __smlad(__sxtab16(offset2, u), __sxtb16(p), acc);
        acc = __smlad(hwsim_sxtab16_ror8(offset2, u), hwsim_sxtb16_ror8(p), acc);
    }
#else
    (void)offset2;
#endif
    for (; i < n; i++)
        acc += (x[i] + offset) * w[i];
    return acc;
}

/* One output pixel of conv_scalar: every output channel over the window's `rows` rows of
 * n bytes each (a call per pixel keeps the channel loop's values in registers). */
__attribute__((noinline)) static void conv_scalar_pixel(const hwsim_requant *rq,
                                                        const int32_t *bias, const int8_t *xs,
                                                        const int8_t *ws, int32_t rows,
                                                        int32_t n, const int32_t *steps,
                                                        int32_t offset, int8_t *y, int8_t *end)
{
    const int32_t row_in = steps[0], row_w = steps[1], filter = steps[2];
#if HWSIM_DSP
    const int32_t offset2 = hwsim_pack_offset(offset);
#else
    const int32_t offset2 = 0;
#endif
    for (int32_t oc = 0; y < end; oc++, y++, ws += filter) {
        int32_t acc = bias ? bias[oc] : 0;
        const int8_t *xr = xs, *wr = ws;
        for (int32_t r = 0; r < rows; r++, xr += row_in, wr += row_w)
            acc = dot_row(xr, wr, n, offset, offset2, acc);
        *y = hwsim_output(acc, *rq, oc);
    }
}

void hwsim_conv_scalar_s8(const hwsim_quant *quant, const hwsim_channel_quant *channels,
                          const hwsim_shape *input, const int8_t *x,
                          int32_t kh, int32_t kw, const int8_t *w, const int32_t *bias,
                          const hwsim_window *window, const hwsim_shape *output, int8_t *y)
{
    const hwsim_requant rq = hwsim_requant_of(quant, channels);
    const int32_t c = input->c, out_c = output->c;
    const int32_t steps[3] = {input->w * c, kw * c, kh * kw * c};   /* row_in, row_w, filter */
    int8_t *out = y;
    for (int32_t oy = 0; oy < output->h; oy++) {
        const int32_t iy0 = oy * window->stride_h - window->pad_top;
        const int32_t ky0 = max32(0, -iy0), ky1 = min32(kh, input->h - iy0);
        for (int32_t ox = 0; ox < output->w; ox++, out += out_c) {
            const int32_t ix0 = ox * window->stride_w - window->pad_left;
            const int32_t kx0 = max32(0, -ix0), kx1 = min32(kw, input->w - ix0);
            conv_scalar_pixel(&rq, bias, x + (iy0 + ky0) * steps[0] + (ix0 + kx0) * c,
                              w + ky0 * steps[1] + kx0 * c, ky1 - ky0, (kx1 - kx0) * c, steps,
                              quant->input_offset, out, out + out_c);
        }
    }
}
