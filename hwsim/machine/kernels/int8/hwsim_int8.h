/* hwsim int8 kernels: TensorFlow Lite int8 semantics, run-time shapes.
 *
 * Tensors are NHWC int8 (batch 1 for convolutions); weights are int8 with zero point 0
 * (TFLite's symmetric int8 weights): fully connected [out][in], convolution
 * [out_c][kh][kw][in_c], depthwise [kh][kw][c] (channel multiplier 1). Bias is int32
 * per output channel. Each output channel c is requantized with
 * MultiplyByQuantizedMultiplier(acc, multiplier[c], shift[c]) (TFLite's double
 * rounding), offset by output_offset and clamped to [act_min, act_max].
 * input_offset is minus the input zero point, as in TFLite and CMSIS-NN. Fully connected,
 * conv_1x1, conv and depthwise_3x3 take it folded into the bias, as CMSIS-NN's and TFLite
 * Micro's kernels precompute it: bias[c] + input_offset * (sum of channel c's weights)
 * (hwsim.ir.int8_kernels.folded_bias); there it only gives the zero point their padding
 * holds. conv_scalar and depthwise (clipped windows) add it per tap to the plain bias.
 *
 * On cores with the Armv7E-M DSP extension (__ARM_FEATURE_DSP: Cortex-M4/M7/M33/M55)
 * the matrix kernels widen int8 pairs with SXTB16/SXTAB16 and do two MACs per SMLAD;
 * everywhere else (Armv6-M, RV32) they are register-blocked scalar loops. */
#ifndef HWSIM_INT8_H
#define HWSIM_INT8_H

#include <stdint.h>

typedef struct {
    int32_t input_offset;    /* minus the input zero point */
    int32_t output_offset;   /* the output zero point */
    int32_t act_min;         /* clamp, in output integers */
    int32_t act_max;
} hwsim_quant;

typedef struct {
    const int32_t *multiplier;   /* per output channel, Q31 in [2^30, 2^31) */
    const int32_t *shift;        /* per output channel, > 0 shifts left */
} hwsim_channel_quant;

typedef struct {
    int32_t h, w, c;
} hwsim_shape;

typedef struct {
    int32_t stride_h, stride_w;
    int32_t pad_top, pad_left;   /* bottom/right padding follow from the output shape */
} hwsim_window;

/* Elementwise add (TFLite's int8 ADD): each input gets its offset (minus its zero
 * point), is shifted left by left_shift (TFLite: 20) and rescaled to the common scale by
 * its multiplier and shift (<= 0); the sum is requantized by the output multiplier and
 * shift, offset by the output zero point and clamped. */
typedef struct {
    int32_t input1_offset, input2_offset;
    int32_t input1_multiplier, input1_shift;
    int32_t input2_multiplier, input2_shift;
    int32_t output_multiplier, output_shift;
    int32_t output_offset, act_min, act_max;
    int32_t left_shift;
} hwsim_add_quant;

/* TFLite MultiplyByQuantizedMultiplier (SaturatingRoundingDoublingHighMul, then
 * RoundingDivideByPOT). */
int32_t hwsim_requantize(int32_t acc, int32_t multiplier, int32_t shift);

/* y[i] = x1[i] + x2[i] for i < size, as TFLite's int8 ADD (hwsim_add_quant). */
void hwsim_add_s8(const hwsim_add_quant *quant, const int8_t *x1, const int8_t *x2,
                  int32_t size, int8_t *y);

/* y[b][n] for b < batches, n < out_features. */
void hwsim_fully_connected_s8(const hwsim_quant *quant, const hwsim_channel_quant *channels,
                              int32_t batches, int32_t in_features, int32_t out_features,
                              const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *y);

/* Generic convolution: im2col of two output pixels at a time into `scratch` (int16,
 * 2 * kh * kw * in_c entries; hwsim_conv_s8_scratch_bytes) and the blocked matrix kernel. */
int32_t hwsim_conv_s8_scratch_bytes(const hwsim_shape *input, int32_t kh, int32_t kw);
void hwsim_conv_s8(const hwsim_quant *quant, const hwsim_channel_quant *channels,
                   const hwsim_shape *input, const int8_t *x,
                   int32_t kh, int32_t kw, const int8_t *w, const int32_t *bias,
                   const hwsim_window *window, const hwsim_shape *output, int8_t *y,
                   int16_t *scratch);

/* 1x1 convolution, stride 1, no padding: one matrix product on the input as it lies. */
void hwsim_conv_1x1_s8(const hwsim_quant *quant, const hwsim_channel_quant *channels,
                       const hwsim_shape *input, const int8_t *x,
                       const int8_t *w, const int32_t *bias, const hwsim_shape *output,
                       int8_t *y);

/* Direct convolution, no scratch: the plain loop's shape of computation for small fan-in
 * and few channels (conv0 of an image or audio net, a small dense layer as a 1x1
 * convolution of a 1x1 input). Per output pixel the window is clipped to the input; per
 * output channel, each window row is one straight MAC loop over its (kx1 - kx0) * in_c
 * contiguous bytes (NHWC input, [out_c][kh][kw][in_c] weights), the input offset added
 * per tap, then the requantization. */
void hwsim_conv_scalar_s8(const hwsim_quant *quant, const hwsim_channel_quant *channels,
                          const hwsim_shape *input, const int8_t *x,
                          int32_t kh, int32_t kw, const int8_t *w, const int32_t *bias,
                          const hwsim_window *window, const hwsim_shape *output, int8_t *y);

/* Cores without a multiplier (RV32I/E, libgcc's shift-and-add __mulsi3/__muldi3): the
 * direct convolution (a dense layer: its 1x1 case on a 1x1 input) and the depthwise
 * convolution with clipped windows and every product sign-magnitude, so that each
 * routine loops over a weight's magnitude or a requantization multiplier (hwsim_int8_soft.h); the
 * input offset added per tap, the plain bias. The same arguments as conv_scalar and
 * depthwise. */
void hwsim_conv_soft_s8(const hwsim_quant *quant, const hwsim_channel_quant *channels,
                        const hwsim_shape *input, const int8_t *x,
                        int32_t kh, int32_t kw, const int8_t *w, const int32_t *bias,
                        const hwsim_window *window, const hwsim_shape *output, int8_t *y);
void hwsim_depthwise_soft_s8(const hwsim_quant *quant, const hwsim_channel_quant *channels,
                             const hwsim_shape *input, const int8_t *x,
                             int32_t kh, int32_t kw, const int8_t *w, const int32_t *bias,
                             const hwsim_window *window, const hwsim_shape *output, int8_t *y);

/* Depthwise convolution, channel multiplier 1, any kernel size, stride and padding. */
void hwsim_depthwise_s8(const hwsim_quant *quant, const hwsim_channel_quant *channels,
                        const hwsim_shape *input, const int8_t *x,
                        int32_t kh, int32_t kw, const int8_t *w, const int32_t *bias,
                        const hwsim_window *window, const hwsim_shape *output, int8_t *y);

/* Depthwise 3x3, channel multiplier 1, every window unrolled: the three input rows of
 * each output row are copied into `scratch` (hwsim_depthwise_3x3_s8_scratch_bytes:
 * 3 * ((out_w - 1) * stride_w + 3) * c bytes, word-aligned) with the padding filled. */
int32_t hwsim_depthwise_3x3_s8_scratch_bytes(const hwsim_shape *input, const hwsim_window *window,
                                             const hwsim_shape *output);
void hwsim_depthwise_3x3_s8(const hwsim_quant *quant, const hwsim_channel_quant *channels,
                            const hwsim_shape *input, const int8_t *x,
                            const int8_t *w, const int32_t *bias,
                            const hwsim_window *window, const hwsim_shape *output, int8_t *y,
                            int8_t *scratch);

/* The matrix kernels the convolutions and the fully connected layer share. */
void hwsim_mat_s8_s8(const hwsim_quant *quant, const hwsim_channel_quant *channels,
                     const int8_t *x, int32_t columns, int32_t depth,
                     const int8_t *w, int32_t rows, const int32_t *bias, int8_t *y);
void hwsim_mat_s8_s16(const hwsim_quant *quant, const hwsim_channel_quant *channels,
                      const int16_t *x, int32_t columns, int32_t depth,
                      const int8_t *w, int32_t rows, const int32_t *bias, int8_t *y);

#endif
