/* TFLite's MultiplyByQuantizedMultiplier as a callable function. */
#include "hwsim_int8_internal.h"

int32_t hwsim_requantize(int32_t acc, int32_t multiplier, int32_t shift)
{
    return hwsim_requantize_inline(acc, multiplier, shift);
}
