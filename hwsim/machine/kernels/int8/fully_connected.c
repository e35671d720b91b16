/* Fully connected: each batch row is a column of the blocked matrix kernel. */
#include "hwsim_int8_internal.h"

void hwsim_fully_connected_s8(const hwsim_quant *quant, const hwsim_channel_quant *channels,
                              int32_t batches, int32_t in_features, int32_t out_features,
                              const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *y)
{
#if HWSIM_DSP
    if (batches > 1)                /* pairs of batch rows in assembly (dsp_passes.c) */
        hwsim_mat_pairs_s8(quant, channels, x, batches, in_features, w, out_features, bias, y);
    else
#endif
    hwsim_mat_s8_s8(quant, channels, x, batches, in_features, w, out_features, bias, y);
}
