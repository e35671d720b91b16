/* Depthwise convolutions (channel multiplier 1), NHWC: a window tap's channels are
 * contiguous in both input and weights. With DSP four channels go per pass: one word of
 * inputs and one of weights widened by SXTAB16/SXTB16 (even and odd channels), one
 * SMLABB/SMLATT per MAC; SMLAD cannot be used, its two products belong to two channels. */
#include "hwsim_int8_internal.h"

/* One output pixel, taps ky in [ky0, ky1), kx in [kx0, kx1) (the window clipped to the
 * input: padded taps add nothing once the offset is applied). */
__attribute__((noinline)) static void depthwise_pixel(const hwsim_quant *quant, const hwsim_channel_quant *channels,
                                   const hwsim_shape *input, const int8_t *x, int32_t kw,
                                   const int8_t *w, const int32_t *bias, int32_t iy0, int32_t ix0,
                                   int32_t ky0, int32_t ky1, int32_t kx0, int32_t kx1, int8_t *y)
{
    const hwsim_requant rq = hwsim_requant_of(quant, channels);
    const int32_t c_count = input->c;
    const int32_t offset = quant->input_offset;
    int32_t c = 0;
#if HWSIM_DSP
    const int32_t offset2 = hwsim_pack_offset(offset);
    for (; c + 3 < c_count; c += 4) {
        int32_t a0 = bias ? bias[c] : 0, a1 = bias ? bias[c + 1] : 0;
        int32_t a2 = bias ? bias[c + 2] : 0, a3 = bias ? bias[c + 3] : 0;
        for (int32_t ky = ky0; ky < ky1; ky++) {
            const int8_t *xp = x + ((iy0 + ky) * input->w + ix0 + kx0) * c_count + c;
            const int8_t *wp = w + (ky * kw + kx0) * c_count + c;
            for (int32_t kx = kx0; kx < kx1; kx++, xp += c_count, wp += c_count) {
                int32_t u = hwsim_read_word(xp), p = hwsim_read_word(wp);
                int32_t u_even = __sxtab16(offset2, u), u_odd = hwsim_sxtab16_ror8(offset2, u);
                int32_t p_even = __sxtb16(p), p_odd = hwsim_sxtb16_ror8(p);
                a0 = __smlabb(p_even, u_even, a0);
                a2 = __smlatt(p_even, u_even, a2);
                a1 = __smlabb(p_odd, u_odd, a1);
                a3 = __smlatt(p_odd, u_odd, a3);
            }
        }
        hwsim_output4(y + c, a0, a1, a2, a3, &rq, c);
    }
#endif
    for (; c < c_count; c++) {
        int32_t acc = bias ? bias[c] : 0;
        for (int32_t ky = ky0; ky < ky1; ky++) {
            const int8_t *xp = x + ((iy0 + ky) * input->w + ix0 + kx0) * c_count + c;
            const int8_t *wp = w + (ky * kw + kx0) * c_count + c;
            for (int32_t kx = kx0; kx < kx1; kx++, xp += c_count, wp += c_count)
                acc += (*xp + offset) * *wp;
        }
        y[c] = hwsim_output(acc, rq, c);
    }
}

static inline int32_t max32(int32_t a, int32_t b) { return a > b ? a : b; }
static inline int32_t min32(int32_t a, int32_t b) { return a < b ? a : b; }

void hwsim_depthwise_s8(const hwsim_quant *quant, const hwsim_channel_quant *channels,
                        const hwsim_shape *input, const int8_t *x,
                        int32_t kh, int32_t kw, const int8_t *w, const int32_t *bias,
                        const hwsim_window *window, const hwsim_shape *output, int8_t *y)
{
    for (int32_t oy = 0; oy < output->h; oy++) {
        int32_t iy0 = oy * window->stride_h - window->pad_top;
        int32_t ky0 = max32(0, -iy0), ky1 = min32(kh, input->h - iy0);
        for (int32_t ox = 0; ox < output->w; ox++) {
            int32_t ix0 = ox * window->stride_w - window->pad_left;
            int32_t kx0 = max32(0, -ix0), kx1 = min32(kw, input->w - ix0);
            depthwise_pixel(quant, channels, input, x, kw, w, bias, iy0, ix0, ky0, ky1, kx0,
                            kx1, y + (oy * output->w + ox) * output->c);
        }
    }
}

/* An argument only the DSP build has (the Armv6-M and RV32 code stays as it was). */
#if HWSIM_DSP
#define HWSIM_DSP_ARGUMENT(a) , a
#else
#define HWSIM_DSP_ARGUMENT(a)
#endif

/* A 3x3 window lying inside the input: the nine taps unrolled, the input offset folded into
 * the bias (hwsim.ir.int8_kernels.folded_bias; the padding copied in holds the zero point,
 * whose w x cancels its share of the fold). */
__attribute__((noinline)) static void depthwise_3x3_inside(const hwsim_quant *quant, const hwsim_channel_quant *channels,
                                 int32_t c_count, int32_t row, const int8_t *x,
                                 const int8_t *w, const int32_t *bias, int8_t *y
                                 HWSIM_DSP_ARGUMENT(int right_shifts))
{
    const hwsim_requant rq = hwsim_requant_of(quant, channels);
    int32_t c = 0;
#if HWSIM_DSP
    if (right_shifts && bias && c_count >= 4) {     /* the assembly groups (dsp_passes.c) */
        hwsim_dw_job job = {x, w, bias, rq.multiplier, rq.shift, y, c_count >> 2,
                            rq.offset2, rq.min2, rq.max2, c_count, 2 * c_count, row};
        hwsim_dw3x3_groups(&job);
        c = c_count & ~3;
    }
    for (; c + 3 < c_count; c += 4) {
        int32_t a0 = bias ? bias[c] : 0, a1 = bias ? bias[c + 1] : 0;
        int32_t a2 = bias ? bias[c + 2] : 0, a3 = bias ? bias[c + 3] : 0;
/* Nine taps, hand-allocated (gcc spills a third of this loop's values): per tap two
 * loads, four SXTB16/SXTAB16 and four SMLABB/SMLATT for four MACs. */
#define HWSIM_TAP(dx)                                                                \
        "ldr     %[u], [%[xp]" dx "]\n\t"                                              \
        "ldr     %[p], [%[wp]" dx "]\n\t"                                              \
        "sxtb16  %[ue], %[u]\n\t"                                                     \
        "sxtb16  %[u], %[u], ror #8\n\t"                                              \
        "sxtb16  %[pe], %[p]\n\t"                                                     \
        "sxtb16  %[p], %[p], ror #8\n\t"                                              \
        "smlabb  %[a0], %[pe], %[ue], %[a0]\n\t"                                      \
        "smlatt  %[a2], %[pe], %[ue], %[a2]\n\t"                                      \
        "smlabb  %[a1], %[p], %[u], %[a1]\n\t"                                        \
        "smlatt  %[a3], %[p], %[u], %[a3]\n\t"
#define HWSIM_ROW                                                                    \
        HWSIM_TAP("") HWSIM_TAP(", %[s]") HWSIM_TAP(", %[s2]")
        {
            const int8_t *xp = x + c, *wp = w + c;
            const int32_t s = c_count, s2 = 2 * c_count, row_step = row;
            int32_t u, p, ue, pe;
            __asm__(
                HWSIM_ROW
                "add     %[xp], %[row]\n\t"
                "add     %[wp], %[s2]\n\t"
                "add     %[wp], %[s]\n\t"
                HWSIM_ROW
                "add     %[xp], %[row]\n\t"
                "add     %[wp], %[s2]\n\t"
                "add     %[wp], %[s]\n\t"
                HWSIM_ROW
                : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),
                  [xp] "+r"(xp), [wp] "+r"(wp), [u] "=&r"(u), [p] "=&r"(p),
                  [ue] "=&r"(ue), [pe] "=&r"(pe)
                : [s] "r"(s), [s2] "r"(s2), [row] "r"(row_step));
        }
#undef HWSIM_ROW
#undef HWSIM_TAP
        hwsim_output4(y + c, a0, a1, a2, a3, &rq, c);
    }
#endif
#if HWSIM_V6M
    /* Armv6-M: one channel per pass, nine taps hand-allocated (LDRSB takes register
     * offsets only: 0, s and 2s sit in low registers, the accumulator and the row steps
     * in high ones): per MAC two loads, MULS and ADD. */
    for (; c < c_count; c++) {
        const int8_t *xp = x + c, *wp = w + c;
        const int32_t zero = 0, s = c_count, s2 = 2 * c_count, w_step = 3 * c_count;
        int32_t acc = bias ? bias[c] : 0, u, p;
#define HWSIM_TAP(o)                                                                 \
            "ldrsb %[u], [%[xp], " o "]\n\t"                                            \
            "ldrsb %[p], [%[wp], " o "]\n\t"                                            \
            "muls  %[p], %[u], %[p]\n\t"                                              \
            "add   %[acc], %[p]\n\t"
#define HWSIM_ROW HWSIM_TAP("%[zero]") HWSIM_TAP("%[s]") HWSIM_TAP("%[s2]")
        __asm__(
            ".syntax unified\n\t"
            HWSIM_ROW
            "add   %[xp], %[row]\n\t"
            "add   %[wp], %[w_step]\n\t"
            HWSIM_ROW
            "add   %[xp], %[row]\n\t"
            "add   %[wp], %[w_step]\n\t"
            HWSIM_ROW
            ".syntax divided\n"
            : [acc] "+h"(acc), [xp] "+l"(xp), [wp] "+l"(wp), [u] "=&l"(u), [p] "=&l"(p)
            : [zero] "l"(zero), [s] "l"(s), [s2] "l"(s2), [row] "h"(row),
              [w_step] "h"(w_step)
            : "cc");
#undef HWSIM_ROW
#undef HWSIM_TAP
        y[c] = hwsim_output(acc, rq, c);
    }
#endif
    for (; c < c_count; c++) {
        /* one window row per pass (this function is kept out of line: inlined into the
         * pixel loop, gcc kept eighteen tap pointers live and spilled most of them) */
        const int8_t *xp = x + c, *wp = w + c;
        const int32_t s = c_count;
        int32_t acc = bias ? bias[c] : 0;
        for (int32_t ky = 0; ky < 3; ky++, xp += row, wp += 3 * s)
            acc += xp[0] * wp[0] + xp[s] * wp[s] + xp[2 * s] * wp[2 * s];
        y[c] = hwsim_output(acc, rq, c);
    }
}

int32_t hwsim_depthwise_3x3_s8_scratch_bytes(const hwsim_shape *input, const hwsim_window *window,
                                             const hwsim_shape *output)
{
    return 3 * ((output->w - 1) * window->stride_w + 3) * input->c;
}

/* Copy `count` bytes, a word at a time when both ends and the count allow it. */
static void copy_bytes(int8_t *to, const int8_t *from, int32_t count)
{
    if ((((uintptr_t)to | (uintptr_t)from | (uintptr_t)count) & 3u) == 0) {
        uint32_t *t = (uint32_t *)to;
        const uint32_t *f = (const uint32_t *)from;
        for (int32_t i = 0; i < count >> 2; i++)
            t[i] = f[i];
    } else {
        for (int32_t i = 0; i < count; i++)
            to[i] = from[i];
    }
}

static void fill_bytes(int8_t *to, int8_t value, int32_t count)
{
    if ((((uintptr_t)to | (uintptr_t)count) & 3u) == 0) {
        uint32_t word = (uint8_t)value * 0x01010101u, *t = (uint32_t *)to;
        for (int32_t i = 0; i < count >> 2; i++)
            t[i] = word;
    } else {
        for (int32_t i = 0; i < count; i++)
            to[i] = value;
    }
}

void hwsim_depthwise_3x3_s8(const hwsim_quant *quant, const hwsim_channel_quant *channels,
                            const hwsim_shape *input, const int8_t *x,
                            const int8_t *w, const int32_t *bias,
                            const hwsim_window *window, const hwsim_shape *output, int8_t *y,
                            int8_t *scratch)
{
    /* Per output row, the three input rows it reads are copied into `scratch` with the
     * padding filled with the zero point (-input_offset: its products cancel their share
     * of the offset folded into the bias), so every window is an interior one for the
     * unrolled kernel. */
    const int32_t c_count = input->c;
    const int32_t padded_w = (output->w - 1) * window->stride_w + 3;
    const int32_t row = padded_w * c_count;
    const int8_t zero_point = (int8_t)(-quant->input_offset);
#if HWSIM_DSP
    const int right_shifts = hwsim_shifts_right(channels->shift, c_count);
#endif
    for (int32_t oy = 0; oy < output->h; oy++) {
        int32_t iy0 = oy * window->stride_h - window->pad_top;
        for (int32_t r = 0; r < 3; r++) {
            int8_t *to = scratch + r * row;
            int32_t iy = iy0 + r;
            if (iy < 0 || iy >= input->h) {
                fill_bytes(to, zero_point, row);
                continue;
            }
            int32_t left = window->pad_left;                   /* padded columns before */
            int32_t inside = min32(input->w, padded_w - left);  /* input columns copied */
            fill_bytes(to, zero_point, left * c_count);
            copy_bytes(to + left * c_count, x + iy * input->w * c_count, inside * c_count);
            fill_bytes(to + (left + inside) * c_count, zero_point,
                       (padded_w - left - inside) * c_count);
        }
        for (int32_t ox = 0; ox < output->w; ox++)
            depthwise_3x3_inside(quant, channels, c_count, row,
                                 scratch + ox * window->stride_w * c_count, w, bias,
                                 y + (oy * output->w + ox) * output->c
                                 HWSIM_DSP_ARGUMENT(right_shifts));
    }
}
