/* depthwise_soft (hwsim_int8.h, hwsim_int8_soft.h): a depthwise convolution on a core
 * without a multiplier. */
#include "hwsim_int8_soft.h"

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
    hwsim_soft_walk(&job, quant, channels, input, x, kh, kw, w, window, output, y,
                    depthwise_soft_pixel);
}
