/* hwsim ops kernels: the non-weighted ops of a network, run-time shapes, for the lut
 * style (level indices, one byte each, or int32 sums) and the int8 style (TFLite-class
 * int8 tensors): max and average pools (1-D as one output row), argmax and the lut
 * residual add. NHWC tensors; no multiply in the lut kernels.
 *
 * Every data-dependent choice is computed without a branch (a mask selects), so a
 * kernel executes the same instructions for any data of one shape: the maximum update
 * m -= (m - v) & sign(m - v) (8-bit values), argmax's update of the maximum and its index
 * by the mask of (maximum < v), and the threshold search's step p += k & mask(acc >= p[k])
 * over bounds padded to 2^steps entries (steps <= 8), unrolled; the level is how far p
 * walked. */
#ifndef HWSIM_OPS_H
#define HWSIM_OPS_H

#include <stdint.h>

/* A pool's window walk. Output positions out_h x out_w (a 1-D pool: out_h 1), channels
 * per position; the window size_h x size_w; input elements between output rows'
 * windows (row_step), output columns' windows (col_step) and window rows (x_row).
 * Average pools of levels: bounds padded to 2^steps entries of the variant's width
 * (level = number of bounds <= the window sum); int8 average pools: out =
 * clamp((sum * reciprocal + 2^15) >> 16). Windows of 2 to 4 elements (taps) run an
 * unrolled walk, channels innermost, the other elements at offsets tap[] from the first;
 * the choice is a branch on the shape (a constant of the node), never on the data. */
typedef struct {
    int32_t out_h, out_w, channels;
    int32_t size_h, size_w;
    int32_t row_step, col_step, x_row;
    const void *bounds;
    int32_t steps;
    int32_t reciprocal;
    int32_t taps;            /* window elements when 2 to 4 (else 0: the generic walk) */
    int32_t tap[3];          /* elements from the window's first element to its others */
} hwsim_ops_pool;

/* argmax over `classes` scores, the first maximum wins; the class id as one byte. */
typedef struct {
    int32_t classes;
} hwsim_ops_argmax;

/* The lut residual add of two level tensors: acc = values[x0[i]] + values[x1[i]]
 * (the activation value table, int8 or int16 entries); with bounds (2^steps padded
 * thresholds) the output is acc's level, else acc (int32). The `_sv` kernels add a
 * level tensor's values to an int32 sum tensor (sums_input says which one it is). */
typedef struct {
    int32_t elements;
    const void *values;
    const int32_t *bounds;
    int32_t steps;
    int32_t sums_input;      /* _sv kernels: which input holds int32 sums (0: x0, 1: x1) */
} hwsim_ops_add;

void hwsim_ops_max_pool_u8(const hwsim_ops_pool *p, const uint8_t *x, uint8_t *y);
void hwsim_ops_max_pool_i32(const hwsim_ops_pool *p, const int32_t *x, int32_t *y);
void hwsim_ops_avg_pool_u8_b8(const hwsim_ops_pool *p, const uint8_t *x, uint8_t *y);
void hwsim_ops_avg_pool_u8_b16(const hwsim_ops_pool *p, const uint8_t *x, uint8_t *y);
void hwsim_ops_avg_pool_u8_b32(const hwsim_ops_pool *p, const uint8_t *x, uint8_t *y);
void hwsim_ops_argmax_u8(const hwsim_ops_argmax *p, const uint8_t *x, uint8_t *y);
void hwsim_ops_argmax_i32(const hwsim_ops_argmax *p, const int32_t *x, uint8_t *y);
void hwsim_ops_add_v8(const hwsim_ops_add *p, const uint8_t *x0, const uint8_t *x1, void *y);
void hwsim_ops_add_v16(const hwsim_ops_add *p, const uint8_t *x0, const uint8_t *x1, void *y);
void hwsim_ops_add_sv8(const hwsim_ops_add *p, const void *x0, const void *x1, void *y);
void hwsim_ops_add_sv16(const hwsim_ops_add *p, const void *x0, const void *x1, void *y);
/* An auto-encoder's output table: y[i] = values[x[i]] (int8 or int16 entries; the
 * hwsim_ops_add struct's elements and values, the rest unused). */
void hwsim_ops_table_v8(const hwsim_ops_add *p, const uint8_t *x, void *y);
void hwsim_ops_table_v16(const hwsim_ops_add *p, const uint8_t *x, void *y);

void hwsim_ops_max_pool_i8(const hwsim_ops_pool *p, const int8_t *x, int8_t *y);
void hwsim_ops_avg_pool_i8(const hwsim_ops_pool *p, const int8_t *x, int8_t *y);
void hwsim_ops_argmax_i8(const hwsim_ops_argmax *p, const int8_t *x, uint8_t *y);

#endif
