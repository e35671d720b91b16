/* conv_soft (hwsim_int8.h, hwsim_int8_soft.h): a convolution, or a dense layer as a 1x1
 * convolution of a 1x1 input, on a core without a multiplier. */
#include "hwsim_int8_soft.h"

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
    hwsim_soft_walk(&job, quant, channels, input, x, kh, kw, w, window, output, y,
                    conv_soft_pixel);
}
