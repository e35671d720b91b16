/* The weighted kernels of cores without a multiplier (RV32I/E: every product is a call of
 * libgcc's shift-and-add __mulsi3 / __muldi3, whose loops run over the bits of their
 * second operand). Each product is sign-magnitude so that the operand a routine loops
 * over is one the graph fixes: a MAC calls __mulsi3(x + offset, |w|) and applies the
 * weight's sign after; the requantization's 64-bit product |acc| x multiplier
 * (hwsim_high_mul with HWSIM_SIGN_MAGNITUDE). No product of two shape values is formed
 * (it would be a __mulsi3 call looping over a shape's bits): strides are sums
 * (`times`), pointers advance by them. The windows are clipped to the input as in
 * conv_scalar and depthwise (the input offset added per tap, the plain bias).
 * Elsewhere the same C compiles to plain multiplies. Its own file: firmware that does
 * not call it does not link it. */
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

/* The window of one output row or column clipped to the input: its first tap inside
 * (skip) and the taps inside (count), for a window starting at `start` (may be < 0). */
static inline int32_t clip_skip(int32_t start) { return start < 0 ? -start : 0; }
static inline int32_t clip_count(int32_t start, int32_t kernel, int32_t size)
{
    const int32_t end = size - start < kernel ? size - start : kernel;
    return end - clip_skip(start);
}

/* The strides both kernels share. */
typedef struct {
    int32_t row_in;      /* bytes of an input row: w c */
    int32_t step_y;      /* input bytes between output rows: stride_h w c */
    int32_t step_x;      /* input bytes between output columns: stride_w c */
    int32_t start;       /* offset of the first window's first tap (may be < 0) */
} soft_strides;

static inline soft_strides soft_strides_of(const hwsim_shape *input, const hwsim_window *window)
{
    soft_strides s;
    s.row_in = times(input->w, input->c);
    s.step_y = times(window->stride_h, s.row_in);
    s.step_x = times(window->stride_w, input->c);
    s.start = -times(window->pad_top, s.row_in) - times(window->pad_left, input->c);
    return s;
}

/* One output pixel of conv_soft: every output channel over the clipped window, `rows`
 * rows of n contiguous bytes (input rows row_in apart, weight rows row_w apart). */
__attribute__((noinline)) static void conv_soft_pixel(const hwsim_requant *rq,
                                                      const int32_t *bias, const int8_t *xs,
                                                      const int8_t *ws, int32_t rows,
                                                      int32_t n, int32_t row_in,
                                                      int32_t row_w, int32_t filter,
                                                      int32_t offset, int8_t *y, int32_t out_c)
{
    for (int32_t oc = 0; oc < out_c; oc++, ws += filter) {
        int32_t acc = bias ? bias[oc] : 0;
        const int8_t *xr = xs, *wr = ws;
        for (int32_t r = 0; r < rows; r++, xr += row_in, wr += row_w)
            for (int32_t i = 0; i < n; i++)
                acc = soft_mac(acc, xr[i] + offset, wr[i]);
        y[oc] = hwsim_output(acc, *rq, oc);
    }
}

void hwsim_conv_soft_s8(const hwsim_quant *quant, const hwsim_channel_quant *channels,
                        const hwsim_shape *input, const int8_t *x,
                        int32_t kh, int32_t kw, const int8_t *w, const int32_t *bias,
                        const hwsim_window *window, const hwsim_shape *output, int8_t *y)
{
    const hwsim_requant rq = hwsim_requant_of(quant, channels);
    const int32_t c = input->c, out_c = output->c;
    const soft_strides s = soft_strides_of(input, window);
    const int32_t row_w = times(kw, c), filter = times(kh, row_w);
    int32_t iy = -window->pad_top, row = s.start;
    for (int32_t oy = 0; oy < output->h; oy++, iy += window->stride_h, row += s.step_y) {
        const int32_t top = clip_skip(iy), rows = clip_count(iy, kh, input->h);
        const int32_t x_row = row + times(top, s.row_in), w_row = times(top, row_w);
        int32_t ix = -window->pad_left, at = x_row;
        for (int32_t ox = 0; ox < output->w; ox++, ix += window->stride_w, at += s.step_x) {
            const int32_t left = times(clip_skip(ix), c);
            const int32_t n = times(clip_count(ix, kw, input->w), c);
            conv_soft_pixel(&rq, bias, x + at + left, w + w_row + left, rows, n, s.row_in,
                            row_w, filter, quant->input_offset, y, out_c);
            y += out_c;
        }
    }
}

/* One output pixel of depthwise_soft: per channel the clipped window, `rows` rows of
 * `cols` taps c bytes apart (input rows row_in apart, weight rows row_w apart). */
__attribute__((noinline)) static void depthwise_soft_pixel(const hwsim_requant *rq,
                                                           const int32_t *bias,
                                                           const int8_t *xs, const int8_t *ws,
                                                           int32_t rows, int32_t cols,
                                                           int32_t c, int32_t row_in,
                                                           int32_t row_w, int32_t offset,
                                                           int8_t *y)
{
    for (int32_t ch = 0; ch < c; ch++) {
        int32_t acc = bias ? bias[ch] : 0;
        const int8_t *xr = xs + ch, *wr = ws + ch;
        for (int32_t r = 0; r < rows; r++, xr += row_in, wr += row_w) {
            const int8_t *xp = xr, *wp = wr;
            for (int32_t t = 0; t < cols; t++, xp += c, wp += c)
                acc = soft_mac(acc, *xp + offset, *wp);
        }
        y[ch] = hwsim_output(acc, *rq, ch);
    }
}

void hwsim_depthwise_soft_s8(const hwsim_quant *quant, const hwsim_channel_quant *channels,
                             const hwsim_shape *input, const int8_t *x,
                             int32_t kh, int32_t kw, const int8_t *w, const int32_t *bias,
                             const hwsim_window *window, const hwsim_shape *output, int8_t *y)
{
    const hwsim_requant rq = hwsim_requant_of(quant, channels);
    const int32_t c = input->c;
    const soft_strides s = soft_strides_of(input, window);
    const int32_t row_w = times(kw, c);
    int32_t iy = -window->pad_top, row = s.start;
    for (int32_t oy = 0; oy < output->h; oy++, iy += window->stride_h, row += s.step_y) {
        const int32_t top = clip_skip(iy), rows = clip_count(iy, kh, input->h);
        const int32_t x_row = row + times(top, s.row_in), w_row = times(top, row_w);
        int32_t ix = -window->pad_left, at = x_row;
        for (int32_t ox = 0; ox < output->w; ox++, ix += window->stride_w, at += s.step_x) {
            const int32_t left = times(clip_skip(ix), c);
            depthwise_soft_pixel(&rq, bias, x + at + left, w + w_row + left, rows,
                                 clip_count(ix, kw, input->w), c, s.row_in, row_w,
                                 quant->input_offset, y);
            y += c;
        }
    }
}
