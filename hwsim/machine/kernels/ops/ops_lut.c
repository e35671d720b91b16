/* The lut style's ops kernels (hwsim_ops.h): pools over levels (and max pools over int32
 * sums), argmax, the residual add, the output table; additions, masks and shifts only. */
#include "hwsim_ops_internal.h"

#define HWSIM_OPS_SETUP
#define HWSIM_OPS_ELEMENT(acc, v) ((acc) -= ((acc) - (v)) & hwsim_ops_sign((acc) - (v)))
#define HWSIM_OPS_FINISH(acc) (acc)

/* Max pools: a window's maximum. Levels are >= 0, so the running maximum starts at 0 and
 * m - v cannot overflow. */
#define HWSIM_OPS_NAME hwsim_ops_max_pool_u8
#define HWSIM_OPS_IN uint8_t
#define HWSIM_OPS_OUT uint8_t
#define HWSIM_OPS_START(acc) ((acc) = 0)
#ifdef HWSIM_OPS_USE_max_pool_u8
#include "pool.inc"
#endif
#undef HWSIM_OPS_NAME
#undef HWSIM_OPS_IN
#undef HWSIM_OPS_OUT
#undef HWSIM_OPS_START
#undef HWSIM_OPS_ELEMENT

/* int32 sums: the overflow-free compare. */
#define HWSIM_OPS_NAME hwsim_ops_max_pool_i32
#define HWSIM_OPS_IN int32_t
#define HWSIM_OPS_OUT int32_t
#define HWSIM_OPS_START(acc) ((acc) = INT32_MIN)
#define HWSIM_OPS_ELEMENT(acc, v) ((acc) ^= ((acc) ^ (v)) & hwsim_ops_less((acc), (v)))
#ifdef HWSIM_OPS_USE_max_pool_i32
#include "pool.inc"
#endif
#undef HWSIM_OPS_NAME
#undef HWSIM_OPS_IN
#undef HWSIM_OPS_OUT
#undef HWSIM_OPS_START
#undef HWSIM_OPS_ELEMENT
#undef HWSIM_OPS_SETUP
#undef HWSIM_OPS_FINISH

/* Average pools of levels: the window's sum, then its level among the pool bounds. */
#define HWSIM_OPS_IN uint8_t
#define HWSIM_OPS_OUT uint8_t
#define HWSIM_OPS_START(acc) ((acc) = 0)
#define HWSIM_OPS_ELEMENT(acc, v) ((acc) += (v))
#define HWSIM_OPS_FINISH(acc) __extension__({ uint32_t level_;                         \
    HWSIM_OPS_SEARCH(acc, bounds, steps, level_); (uint8_t)level_; })
#define HWSIM_OPS_AVG(name, type)                                                      \
    const type *bounds = (const type *)p->bounds;                                      \
    const int32_t steps = p->steps;
#define HWSIM_OPS_NAME hwsim_ops_avg_pool_u8_b8
#define HWSIM_OPS_SETUP HWSIM_OPS_AVG(b8, int8_t)
#ifdef HWSIM_OPS_USE_avg_pool_u8_b8
#include "pool.inc"
#endif
#undef HWSIM_OPS_NAME
#undef HWSIM_OPS_SETUP
#define HWSIM_OPS_NAME hwsim_ops_avg_pool_u8_b16
#define HWSIM_OPS_SETUP HWSIM_OPS_AVG(b16, int16_t)
#ifdef HWSIM_OPS_USE_avg_pool_u8_b16
#include "pool.inc"
#endif
#undef HWSIM_OPS_NAME
#undef HWSIM_OPS_SETUP
#define HWSIM_OPS_NAME hwsim_ops_avg_pool_u8_b32
#define HWSIM_OPS_SETUP HWSIM_OPS_AVG(b32, int32_t)
#ifdef HWSIM_OPS_USE_avg_pool_u8_b32
#include "pool.inc"
#endif
#undef HWSIM_OPS_NAME
#undef HWSIM_OPS_SETUP
#undef HWSIM_OPS_IN
#undef HWSIM_OPS_OUT

/* argmax of levels and of int32 sums. */
#define HWSIM_OPS_NAME hwsim_ops_argmax_u8
#define HWSIM_OPS_IN uint8_t
#define HWSIM_OPS_PACKED
#ifdef HWSIM_OPS_USE_argmax_u8
#include "argmax.inc"
#endif
#undef HWSIM_OPS_NAME
#undef HWSIM_OPS_IN
#undef HWSIM_OPS_PACKED
#define HWSIM_OPS_NAME hwsim_ops_argmax_i32
#define HWSIM_OPS_IN int32_t
#define HWSIM_OPS_LESS(a, b) hwsim_ops_less((a), (b))
#ifdef HWSIM_OPS_USE_argmax_i32
#include "argmax.inc"
#endif
#undef HWSIM_OPS_NAME
#undef HWSIM_OPS_IN
#undef HWSIM_OPS_LESS

/* The residual add of two level tensors through the activation value table. */
#define HWSIM_OPS_ADD(name, type)                                                      \
void name(const hwsim_ops_add *p, const uint8_t *x0, const uint8_t *x1, void *y)       \
{                                                                                      \
    const type *values = (const type *)p->values;                                      \
    const int32_t elements = p->elements;                                              \
    if (p->bounds) {                                                                   \
        const int32_t *bounds = p->bounds;                                             \
        const int32_t steps = p->steps;                                                \
        uint8_t *out = (uint8_t *)y;                                                   \
        for (int32_t i = 0; i < elements; i++) {                                       \
            const int32_t acc = (int32_t)values[x0[i]] + (int32_t)values[x1[i]];       \
            uint32_t level;                                                            \
            HWSIM_OPS_SEARCH(acc, bounds, steps, level);                               \
            out[i] = (uint8_t)level;                                                   \
        }                                                                              \
    } else {                                                                           \
        int32_t *out = (int32_t *)y;                                                   \
        for (int32_t i = 0; i < elements; i++)                                         \
            out[i] = (int32_t)values[x0[i]] + (int32_t)values[x1[i]];                  \
    }                                                                                  \
}
#ifdef HWSIM_OPS_USE_add_v8
HWSIM_OPS_ADD(hwsim_ops_add_v8, int8_t)
#endif
#ifdef HWSIM_OPS_USE_add_v16
HWSIM_OPS_ADD(hwsim_ops_add_v16, int16_t)
#endif

/* A level tensor's values added to an int32 sum tensor. */
#define HWSIM_OPS_ADD_SUMS(name, type)                                                 \
void name(const hwsim_ops_add *p, const void *x0, const void *x1, void *y)             \
{                                                                                      \
    const type *values = (const type *)p->values;                                      \
    const int32_t elements = p->elements;                                              \
    const int32_t *sums = (const int32_t *)x0;                                         \
    const uint8_t *levels = (const uint8_t *)x1;                                       \
    if (p->sums_input) {                                                               \
        sums = (const int32_t *)x1;                                                    \
        levels = (const uint8_t *)x0;                                                  \
    }                                                                                  \
    if (p->bounds) {                                                                   \
        const int32_t *bounds = p->bounds;                                             \
        const int32_t steps = p->steps;                                                \
        uint8_t *out = (uint8_t *)y;                                                   \
        for (int32_t i = 0; i < elements; i++) {                                       \
            const int32_t acc = (int32_t)((uint32_t)sums[i] + (uint32_t)values[levels[i]]); \
            uint32_t level;                                                            \
            HWSIM_OPS_SEARCH(acc, bounds, steps, level);                               \
            out[i] = (uint8_t)level;                                                   \
        }                                                                              \
    } else {                                                                           \
        int32_t *out = (int32_t *)y;                                                   \
        for (int32_t i = 0; i < elements; i++)                                         \
            out[i] = (int32_t)((uint32_t)sums[i] + (uint32_t)values[levels[i]]);       \
    }                                                                                  \
}
#ifdef HWSIM_OPS_USE_add_sv8
HWSIM_OPS_ADD_SUMS(hwsim_ops_add_sv8, int8_t)
#endif
#ifdef HWSIM_OPS_USE_add_sv16
HWSIM_OPS_ADD_SUMS(hwsim_ops_add_sv16, int16_t)
#endif

/* An auto-encoder's output: each level's value from the output value table. */
#define HWSIM_OPS_TABLE(name, type)                                                    \
void name(const hwsim_ops_add *p, const uint8_t *x, void *y)                           \
{                                                                                      \
    const type *values = (const type *)p->values;                                      \
    const int32_t elements = p->elements;                                              \
    type *out = (type *)y;                                                             \
    for (int32_t i = 0; i < elements; i++)                                             \
        out[i] = values[x[i]];                                                         \
}
#ifdef HWSIM_OPS_USE_table_v8
HWSIM_OPS_TABLE(hwsim_ops_table_v8, int8_t)
#endif
#ifdef HWSIM_OPS_USE_table_v16
HWSIM_OPS_TABLE(hwsim_ops_table_v16, int16_t)
#endif
