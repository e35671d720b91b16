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
static void soft_walk(soft_job *job, const hwsim_quant *quant,
                      const hwsim_channel_quant *channels, const hwsim_shape *input,
                      const int8_t *x, int32_t kh, int32_t kw, const int8_t *w,
                      const hwsim_window *window, const hwsim_shape *output, int8_t *y,
                      soft_pixel pixel)
{
    const int32_t c = input->c;
    job->rq = hwsim_requant_of(quant, channels);
    job->c = c;
    job->offset = quant->input_offset;
    job->row_in = times(input->w, c);
    job->row_w = times(kw, c);
    const int32_t step_y = times(window->stride_h, job->row_in);
    const int32_t step_x = times(window->stride_w, c);
    int32_t iy = -window->pad_top;
    int32_t row = -times(window->pad_top, job->row_in) - times(window->pad_left, c);
    for (int32_t oy = 0; oy < output->h; oy++, iy += window->stride_h, row += step_y) {
        const int32_t top = clip_skip(iy), rows = clip_count(iy, kh, input->h);
        const int32_t x_row = row + times(top, job->row_in), w_row = times(top, job->row_w);
        int32_t ix = -window->pad_left, at = x_row;
        for (int32_t ox = 0; ox < output->w; ox++, ix += window->stride_w, at += step_x) {
            const int32_t left = times(clip_skip(ix), c);
            pixel(job, x + at + left, w + w_row + left, rows, clip_count(ix, kw, input->w), y);
            y += job->out_c;
        }
    }
}

/* conv_soft's pixel: every output channel over the window, each window row one straight
 * loop over its cols c contiguous bytes. */
static void conv_soft_pixel(const soft_job *job, const int8_t *xs, const int8_t *ws,
                            int32_t rows, int32_t cols, int8_t *y)
{
    const int32_t n = times(cols, job->c), row_in = job->row_in, row_w = job->row_w;
    const int32_t offset = job->offset;
    for (int32_t oc = 0; oc < job->out_c; oc++, ws += job->filter) {
        int32_t acc = job->bias ? job->bias[oc] : 0;
        const int8_t *xr = xs, *wr = ws;
        for (int32_t r = 0; r < rows; r++, xr += row_in, wr += row_w)
            for (int32_t i = 0; i < n; i++)
                acc = soft_mac(acc, xr[i] + offset, wr[i]);
        y[oc] = hwsim_output(acc, job->rq, oc);
    }
}

void hwsim_conv_soft_s8(const hwsim_quant *quant, const hwsim_channel_quant *channels,
                        const hwsim_shape *input, const int8_t *x,
                        int32_t kh, int32_t kw, const int8_t *w, const int32_t *bias,
                        const hwsim_window *window, const hwsim_shape *output, int8_t *y)
{
    soft_job job;
    job.bias = bias;
    job.out_c = output->c;
    job.filter = times(kh, times(kw, input->c));
    soft_walk(&job, quant, channels, input, x, kh, kw, w, window, output, y, conv_soft_pixel);
}

/* depthwise_soft's pixel: per channel the window, rows of cols taps c bytes apart. */
static void depthwise_soft_pixel(const soft_job *job, const int8_t *xs, const int8_t *ws,
                                 int32_t rows, int32_t cols, int8_t *y)
{
    const int32_t c = job->c, row_in = job->row_in, row_w = job->row_w;
    const int32_t offset = job->offset;
    for (int32_t ch = 0; ch < c; ch++) {
        int32_t acc = job->bias ? job->bias[ch] : 0;
        const int8_t *xr = xs + ch, *wr = ws + ch;
        for (int32_t r = 0; r < rows; r++, xr += row_in, wr += row_w) {
            const int8_t *xp = xr, *wp = wr;
            for (int32_t t = 0; t < cols; t++, xp += c, wp += c)
                acc = soft_mac(acc, *xp + offset, *wp);
        }
        y[ch] = hwsim_output(acc, job->rq, ch);
    }
}

void hwsim_depthwise_soft_s8(const hwsim_quant *quant, const hwsim_channel_quant *channels,
                             const hwsim_shape *input, const int8_t *x,
                             int32_t kh, int32_t kw, const int8_t *w, const int32_t *bias,
                             const hwsim_window *window, const hwsim_shape *output, int8_t *y)
{
    soft_job job;
    job.bias = bias;
    job.out_c = input->c;
    job.filter = 0;
    soft_walk(&job, quant, channels, input, x, kh, kw, w, window, output, y,
              depthwise_soft_pixel);
}
