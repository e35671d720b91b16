/* The soft kernels' walk over the output pixels (hwsim_int8_soft.h). */
#include "hwsim_int8_soft.h"

/* The window of one output row or column clipped to the input: its first tap inside
 * (skip) and the taps inside (count), for a window starting at `start` (may be < 0). */
static inline int32_t clip_skip(int32_t start) { return start < 0 ? -start : 0; }
static inline int32_t clip_count(int32_t start, int32_t kernel, int32_t size)
{
    const int32_t end = size - start < kernel ? size - start : kernel;
    return end - clip_skip(start);
}

/* Both kernels' walk over the output pixels: the window of each clipped to the input
 * per output row (rows skipped at the top) and per pixel (columns skipped at the left),
 * every stride a sum, then the kernel's pixel function. */
void hwsim_soft_walk(soft_job *job, const hwsim_quant *quant,
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
