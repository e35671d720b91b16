/* hwsim lut kernels: the paper's multiplication-free table-lookup layers, run-time shapes.
 *
 * A weighted layer (dense, conv1d, conv2d, depthwise conv2d) with product table T
 * (rows x K entries, K padded to a power of two, the last row the bias row) computes
 * per output unit o
 *
 *     acc = T[bias row][b[o]] + sum over its inputs i of T[x[i]][w[o][i]]
 *
 * and then either stores acc (int32) or turns it into an output level by the branchy
 * binary search over the padded thresholds (bounds[k] = theta[k-1], INT32_MAX beyond,
 * 2^steps entries; the level is how far the search walked).
 *
 * Layout: NHWC activations, one byte per level. The weights of dense and convolution
 * layers are blocked: the output units in blocks of HWSIM_LUT_BLOCK, and inside a block
 * tap-major, w[tap][unit of the block] (a tap's byte codes padded to whole words, loaded
 * by words), so each pass over a window's inputs adds into the block's accumulators with
 * one table row pointer per input; the units after the blocks follow (Armv7E-M: a quad
 * of 4, tap-major), in pairs, tap-major, and a last single one. A weight is stored as
 * the byte offset of its entry in the table row (its index times the entry's bytes) when
 * that fits a byte (the `_s8` and `_s16` kernels), as its index otherwise (`_s16i`:
 * 16-bit entries with K = 256). Taps of a convolution are (kernel row, kernel column,
 * input channel); depthwise weights are [channel][tap] indices, one channel at a time
 * (every channel reads other inputs, so nothing is shared).
 * 'same' windows are clipped to the input (padding taps add nothing). */
#ifndef HWSIM_LUT_H
#define HWSIM_LUT_H

#include <stdint.h>

/* Output units per pass over the inputs (the register-blocked accumulators): the code
 * generator writes hwsim_lut_config.h with the target's block (hwsim.ir.lut_kernels). */
#include "hwsim_lut_config.h"

typedef struct {
    const void *table;       /* row 0 of the product table */
    int32_t row_shift;       /* log2 of a table row's size in bytes */
    const void *bias_row;    /* the bias row of the table */
    const uint8_t *bias;     /* bias index per output unit */
    const int32_t *bounds;   /* padded thresholds; NULL: store the int32 sums */
    int32_t steps;           /* binary-search steps (2^steps bounds) */
} hwsim_lut_layer;

/* Where each output's window lies, precomputed by the caller (the kernels never
 * multiply): per output row (row_*) and column (col_*) of windows, the offset of the
 * window's first input in x, of its first tap (tap units; col_tap_block: times a block's
 * bytes per tap, the offset inside a blocked weight run) and its extent (row_count:
 * kernel rows; col_count: inputs per kernel row, contiguous in x for convolutions, strided by the
 * channel count for depthwise). A dense layer is one position with one run of fan_in. */
typedef struct {
    int32_t out_h, out_w, units;  /* output positions and units (channels) per position */
    int32_t fan;                  /* taps per unit */
    int32_t x_row;                /* bytes of x between kernel rows */
    int32_t tap_row;              /* taps between kernel rows */
    int32_t tap_row_block;        /* tap_row * a block's bytes per tap */
    int32_t fan_block;            /* fan * a block's bytes per tap: a full block's bytes */
    const int32_t *row_x, *row_tap, *row_tap_block, *row_count;
    const int32_t *col_x, *col_tap, *col_tap_block, *col_count;
} hwsim_lut_geometry;

/* One layer's call: its table and thresholds, window geometry and weight codes (the code
 * generator emits one per node as a constant, so every node calls the same way). */
typedef struct {
    hwsim_lut_layer layer;
    hwsim_lut_geometry geometry;
    const uint8_t *w;
} hwsim_lut_call;

/* Dense and convolution layers: blocked weights (see above), NHWC output y (levels or
 * int32 sums). */
void hwsim_lut_conv_s8(const hwsim_lut_call *call, const uint8_t *x, void *y);
void hwsim_lut_conv_s16(const hwsim_lut_call *call, const uint8_t *x, void *y);
void hwsim_lut_conv_s16i(const hwsim_lut_call *call, const uint8_t *x, void *y);

/* Dense and convolution layers with packed weight codes (K <= 16: `p4`, 4 bits a code;
 * K <= 4: `p2`, 2 bits): per full block and tap one little-endian word of
 * (HWSIM_LUT_BLOCK x bits) rounded up to 1, 2 or 4 bytes, unit j's entry index at bit
 * bits x j; the units after the blocks a byte code each (as _s8, _s16); the geometry's
 * *_block fields count those words' bytes. */
void hwsim_lut_conv_s8p4(const hwsim_lut_call *call, const uint8_t *x, void *y);
void hwsim_lut_conv_s16p4(const hwsim_lut_call *call, const uint8_t *x, void *y);
void hwsim_lut_conv_s8p2(const hwsim_lut_call *call, const uint8_t *x, void *y);
void hwsim_lut_conv_s16p2(const hwsim_lut_call *call, const uint8_t *x, void *y);

/* Depthwise convolution, channel multiplier 1: weights [channel][tap], x_row and the
 * column offsets in bytes, col_count taps per kernel row (a step of `units` bytes). */
void hwsim_lut_depthwise_s8(const hwsim_lut_call *call, const uint8_t *x, void *y);
void hwsim_lut_depthwise_s16(const hwsim_lut_call *call, const uint8_t *x, void *y);
void hwsim_lut_depthwise_s16i(const hwsim_lut_call *call, const uint8_t *x, void *y);

#endif
