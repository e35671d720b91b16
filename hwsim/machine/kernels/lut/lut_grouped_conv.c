/* The grouped lut convolution (hwsim_lut_grouped.h, hwsim_lut_grouped_conv): the group
 * tables of every input pixel built once per inference, into a ring of kh input rows,
 * and looked up by every window covering them (kh kw / strides windows, each for all the
 * output units): the build is amortized over the windows and the units. */
#include "hwsim_lut_grouped.h"

void hwsim_lut_grouped_conv(const hwsim_lut_grouped_conv_call *call, const uint8_t *x, void *y)
{
    const hwsim_lut_grouped_call *const dense = &call->dense;
    const int32_t g = dense->g, table_bytes = (int32_t)1 << dense->table_shift;
    const int32_t full = call->pixel_full, short_inputs = call->pixel_short;
    const int32_t in_w = call->in_w, kh = call->kh, kw = call->kw;
    const int32_t pixel_groups = call->pixel_groups;
    const uint16_t **const tables = (const uint16_t **)(void *)dense->scratch;
    uint8_t *const ring = call->ring;
    const uint8_t *const pad = call->pad;
    const int32_t *window_row = call->window_row;
    uint8_t *yp = (uint8_t *)y;
    for (int32_t py = 0; py < call->out_h; py++, HWSIM_LUT_GROUPED_STEP(window_row, kh)) {
        /* The input rows this output row is the first to read: their group tables. */
        const uint8_t *xp = x + call->build_x[py];
        for (int32_t row = call->build_first[py]; row < call->build_end[py]; row++) {
            uint8_t *t = ring + call->ring_row[row];
            for (int32_t px = 0; px < in_w; px++) {
                for (int32_t j = 0; j < full; j++) {
                    hwsim_lut_grouped_build(dense, xp, g, (uint16_t *)(void *)t);
                    HWSIM_LUT_GROUPED_STEP(xp, g);
                    HWSIM_LUT_GROUPED_STEP(t, table_bytes);
                }
                if (short_inputs) {
                    hwsim_lut_grouped_build(dense, xp, short_inputs, (uint16_t *)(void *)t);
                    HWSIM_LUT_GROUPED_STEP(xp, short_inputs);
                    HWSIM_LUT_GROUPED_STEP(t, table_bytes);
                }
            }
        }
        /* Per window: its table addresses, then every unit's lookups over them. */
        const int32_t *window_col = call->window_col;
        for (int32_t px = 0; px < call->out_w; px++, HWSIM_LUT_GROUPED_STEP(window_col, kw)) {
            const uint16_t **a = tables;
            for (int32_t r = 0; r < kh; r++) {
                const int32_t ro = window_row[r];
                for (int32_t c = 0; c < kw; c++) {
                    const int32_t co = window_col[c];
                    const uint8_t *p = (ro | co) < 0 ? pad : ring + ro + co;
                    for (int32_t j = 0; j < pixel_groups; j++, a++) {
                        *a = (const uint16_t *)(const void *)p;
                        HWSIM_LUT_GROUPED_STEP(p, table_bytes);
                    }
                }
            }
            hwsim_lut_grouped_lookup(dense, tables, yp);
            HWSIM_LUT_GROUPED_STEP(yp, call->y_step);
        }
    }
}
