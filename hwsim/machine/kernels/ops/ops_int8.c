/* The int8 style's ops kernels (hwsim_ops.h): max and average pools, argmax. */
#include "hwsim_ops_internal.h"

#if defined(__riscv) && !defined(__riscv_mul)
/* RV32I: libgcc's shift-and-add multiply, the reciprocal as its second operand (the
 * one it loops over: the count depends on the reciprocal only, a constant of the node). */
int __mulsi3(int a, int b);
#define HWSIM_OPS_MUL(a, b) __mulsi3((a), (b))
#else
#define HWSIM_OPS_MUL(a, b) ((a) * (b))
#endif

#define HWSIM_OPS_IN int8_t
#define HWSIM_OPS_OUT int8_t

#define HWSIM_OPS_NAME hwsim_ops_max_pool_i8
#define HWSIM_OPS_SETUP
#define HWSIM_OPS_START(acc) ((acc) = -128)
#define HWSIM_OPS_ELEMENT(acc, v) ((acc) -= ((acc) - (v)) & hwsim_ops_sign((acc) - (v)))
#define HWSIM_OPS_FINISH(acc) ((int8_t)(acc))
#ifdef HWSIM_OPS_USE_max_pool_i8
#include "pool.inc"
#endif
#undef HWSIM_OPS_NAME
#undef HWSIM_OPS_SETUP
#undef HWSIM_OPS_START
#undef HWSIM_OPS_ELEMENT
#undef HWSIM_OPS_FINISH

/* round(sum / window) as (sum * reciprocal + 2^15) >> 16 (no divide); the result is
 * always in [-128, 127] for int8 inputs, so no clamp is needed. */
#define HWSIM_OPS_NAME hwsim_ops_avg_pool_i8
#define HWSIM_OPS_SETUP const int32_t reciprocal = p->reciprocal;
#define HWSIM_OPS_START(acc) ((acc) = 0)
#define HWSIM_OPS_ELEMENT(acc, v) ((acc) += (v))
#define HWSIM_OPS_FINISH(acc) ((int8_t)((HWSIM_OPS_MUL((acc), reciprocal) + 32768) >> 16))
#ifdef HWSIM_OPS_USE_avg_pool_i8
#include "pool.inc"
#endif
#undef HWSIM_OPS_NAME

#define HWSIM_OPS_NAME hwsim_ops_argmax_i8
#define HWSIM_OPS_PACKED
#ifdef HWSIM_OPS_USE_argmax_i8
#include "argmax.inc"
#endif
