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

#if HWSIM_DSP
/* Four output channels over one window row of n bytes: each input word loaded and widened
 * once for the four channels' weight rows (w, w + filter, w + 2 filter, w + 3 filter). */
static inline void dot_row4(const int8_t *x, const int8_t *w, int32_t n, int32_t filter,
                            int32_t offset, int32_t offset2, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    const int8_t *w1 = w + filter, *w2 = w1 + filter, *w3 = w2 + filter;
    int32_t i = 0;
    for (; i + 3 < n; i += 4) {
        int32_t u = hwsim_read_word(x + i);
        int32_t ue = __sxtab16(offset2, u), uo = hwsim_sxtab16_ror8(offset2, u);
        int32_t p = hwsim_read_word(w + i);
        a0 = __smlad(ue, __sxtb16(p), a0);
        a0 = __smlad(uo, hwsim_sxtb16_ror8(p), a0);
        p = hwsim_read_word(w1 + i);
        a1 = __smlad(ue, __sxtb16(p), a1);
        a1 = __smlad(uo, hwsim_sxtb16_ror8(p), a1);
        p = hwsim_read_word(w2 + i);
        a2 = __smlad(ue, __sxtb16(p), a2);
        a2 = __smlad(uo, hwsim_sxtb16_ror8(p), a2);
        p = hwsim_read_word(w3 + i);
        a3 = __smlad(ue, __sxtb16(p), a3);
        a3 = __smlad(uo, hwsim_sxtb16_ror8(p), a3);
    }
    for (; i < n; i++) {
        int32_t v = x[i] + offset;
        a0 += v * w[i];
        a1 += v * w1[i];
        a2 += v * w2[i];
        a3 += v * w3[i];
    }
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
}
/* Two output channels over one window row of n bytes: each input word loaded and widened
 * once for both channels' weight rows (w, w + filter). */
static inline void dot_row2(const int8_t *x, const int8_t *w, int32_t n, int32_t filter,
                            int32_t offset, int32_t offset2, int32_t *acc0, int32_t *acc1)
{
    int32_t a0 = *acc0, a1 = *acc1;
    const int8_t *w1 = w + filter;
    int32_t i = 0;
    for (; i + 3 < n; i += 4) {
        int32_t u = hwsim_read_word(x + i);
        int32_t ue = __sxtab16(offset2, u), uo = hwsim_sxtab16_ror8(offset2, u);
        int32_t p = hwsim_read_word(w + i), q = hwsim_read_word(w1 + i);
        a0 = __smlad(ue, __sxtb16(p), a0);
        a0 = __smlad(uo, hwsim_sxtb16_ror8(p), a0);
        a1 = __smlad(ue, __sxtb16(q), a1);
        a1 = __smlad(uo, hwsim_sxtb16_ror8(q), a1);
    }
    for (; i < n; i++) {
        int32_t v = x[i] + offset;
        a0 += v * w[i];
        a1 += v * w1[i];
    }
    *acc0 = a0, *acc1 = a1;
}
#endif

/* One output pixel of conv_scalar: every output channel over the window's `rows` rows of
 * n bytes each (a call per pixel keeps the channel loop's values in registers); with DSP
 * four channels per pass (each input word serves four weight rows; outputs stored as one
 * word), then a pass of two and one of one for the channels left. */
__attribute__((noinline)) static void conv_scalar_pixel(const hwsim_requant *rq,
                                                        const int32_t *bias, const int8_t *xs,
                                                        const int8_t *ws, int32_t rows,
                                                        int32_t n, const int32_t *steps,
                                                        int32_t offset, int8_t *y, int8_t *end)
{
    const int32_t row_in = steps[0], row_w = steps[1], filter = steps[2];
    int32_t oc = 0;
#if HWSIM_DSP
    const int32_t offset2 = hwsim_pack_offset(offset);
    for (; y + 3 < end; oc += 4, y += 4, ws += 4 * filter) {
        int32_t acc[4] = {0, 0, 0, 0};
        if (bias)
            acc[0] = bias[oc], acc[1] = bias[oc + 1], acc[2] = bias[oc + 2], acc[3] = bias[oc + 3];
        const int8_t *xr = xs, *wr = ws;
        for (int32_t r = 0; r < rows; r++, xr += row_in, wr += row_w)
            dot_row4(xr, wr, n, filter, offset, offset2, acc);
        hwsim_output4(y, acc[0], acc[1], acc[2], acc[3], rq, oc);
    }
    for (; y + 1 < end; oc += 2, y += 2, ws += 2 * filter) {
        int32_t a0 = bias ? bias[oc] : 0, a1 = bias ? bias[oc + 1] : 0;
        const int8_t *xr = xs, *wr = ws;
        for (int32_t r = 0; r < rows; r++, xr += row_in, wr += row_w)
            dot_row2(xr, wr, n, filter, offset, offset2, &a0, &a1);
        hwsim_output2(y, a0, a1, rq, oc);
    }
#else
    const int32_t offset2 = 0;
#endif
    for (; y < end; oc++, y++, ws += filter) {
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
