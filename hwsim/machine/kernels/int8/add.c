/* Elementwise int8 add: TFLite's reference integer ADD (AddElementwise), one element per
 * pass. The parameters are copied into locals once: int8 stores may alias anything. */
#include "hwsim_int8_internal.h"

void hwsim_add_s8(const hwsim_add_quant *quant, const int8_t *x1, const int8_t *x2,
                  int32_t size, int8_t *y)
{
    const hwsim_add_quant q = *quant;
    for (int32_t i = 0; i < size; i++) {
        const int32_t a = (int32_t)((uint32_t)(x1[i] + q.input1_offset) << q.left_shift);
        const int32_t b = (int32_t)((uint32_t)(x2[i] + q.input2_offset) << q.left_shift);
        const int32_t sum = hwsim_requantize_any(a, q.input1_multiplier, q.input1_shift)
                            + hwsim_requantize_any(b, q.input2_multiplier, q.input2_shift);
        int32_t v = hwsim_requantize_any(sum, q.output_multiplier, q.output_shift)
                    + q.output_offset;
        v = v < q.act_min ? q.act_min : v;
        v = v > q.act_max ? q.act_max : v;
        y[i] = (int8_t)v;
    }
}
