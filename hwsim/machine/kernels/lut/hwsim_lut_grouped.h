/* hwsim grouped lut kernels: a dense layer of the paper's table-lookup method with its
 * inputs taken g at a time (issue 12, "grouped lookups"), and a convolution with each
 * input pixel's channels taken g at a time (hwsim_lut_grouped_conv, below).
 *
 * With K weight clusters (K = 2^k_log2) and K^g <= 256, the g connections of one group
 * of inputs into an output unit are one lookup: per inference, for each group of inputs
 * the kernel builds the group table of all K^g partial sums
 *
 *     G[w_0 + (w_1 << k_log2) + (w_2 << 2 k_log2) + ...] = sum over j of T'[x_j][w_j]
 *
 * and each unit's g weight indices are stored as that one combined byte. The product
 * table is stored as T' = T + B, uint16, with the fixed offset B (every |T| <= B and
 * 2 g B < 65536: no partial sum leaves 16 bits), so one 32-bit add builds two entries at
 * once; the offsets of all fan_in connections are folded into the unit's int32 bias
 * (bias[o] = T[bias row][b[o]] - fan_in * B, by the code generator). A group of the last
 * r < g inputs has K^r entries.
 *
 * The tables of `chunk` groups are live at a time (scratch: chunk << (g k_log2 + 1)
 * bytes); the sums of the units wait between chunks in `acc` (units int32). Weights are
 * blocked like the lut library's: the units in blocks of HWSIM_LUT_GROUPED_BLOCK,
 * group-major inside a block (w[group][unit of the block]), the units after the last
 * block one at a time (w[group]); w word-aligned (a block's 4 bytes of a group are one
 * word load). The kernel never multiplies: every stride is a field. */
#ifndef HWSIM_LUT_GROUPED_H
#define HWSIM_LUT_GROUPED_H

#include <stdint.h>

#define HWSIM_LUT_GROUPED_BLOCK 4

/* v += step, hidden from gcc's induction-variable analysis (it would multiply). */
#define HWSIM_LUT_GROUPED_STEP(v, step) __extension__({ (v) += (step); __asm__("" : "+r"(v)); })

#if defined(__ARM_ARCH_6M__)
/* One lookup of an Armv6-M pass: the combined index of byte k of the word c (a group's
 * 4 indices), doubled by the shift and taken out by the mask 0x1fe, selects the uint16
 * entry of the group table at gt; added to `acc`. */
#define HWSIM_LUT_GROUPED_ASM_LOOKUP(shift, acc)                                       \
    shift "\n\t"                                                                       \
    "ands %[t], %[m]\n\t"                                                              \
    "ldrh %[t], [%[gt], %[t]]\n\t"                                                     \
    "add %[" #acc "], %[t]\n\t"

/* A group of a block of units: its 4 combined indices as one word load (the weights are
 * word-aligned), the 4 lookups into the table at gt. */
#define HWSIM_LUT_GROUPED_ASM_GROUP                                                    \
    "ldmia %[wp]!, {%[c]}\n\t"                                                         \
    HWSIM_LUT_GROUPED_ASM_LOOKUP("lsls %[t], %[c], #1", a0)                            \
    HWSIM_LUT_GROUPED_ASM_LOOKUP("lsrs %[t], %[c], #7", a1)                            \
    HWSIM_LUT_GROUPED_ASM_LOOKUP("lsrs %[t], %[c], #15", a2)                           \
    HWSIM_LUT_GROUPED_ASM_LOOKUP("lsrs %[t], %[c], #23", a3)
#endif

typedef struct {
    const void *table;       /* T' row 0: uint16 entries, the offset B added */
    int32_t row_shift;       /* log2 of a table row's size in bytes */
    int32_t k_log2;          /* bits of one weight index in a combined index */
    int32_t g;               /* inputs per group */
    int32_t table_shift;     /* log2 of a group table's bytes: g * k_log2 + 1 */
    int32_t g_low;           /* inputs of a full group's low half table; 0: no crossing */
    int32_t low_words;       /* words of the low table: 2^(g_low k_log2 - 1) */
    int32_t high_entries;    /* entries of the high table: 2^((g - g_low) k_log2) */
    int32_t last_high_word;  /* (high_entries - 1) * low_words */
    int32_t fan;             /* inputs */
    int32_t units;           /* output units */
    int32_t groups;          /* groups of inputs: ceil(fan / g) */
    int32_t chunk;           /* groups whose tables are live at a time */
    int32_t chunk_block;     /* chunk * HWSIM_LUT_GROUPED_BLOCK */
    int32_t groups_block;    /* groups * HWSIM_LUT_GROUPED_BLOCK */
    const int32_t *bias;     /* per unit, the offsets folded in */
    const int32_t *bounds;   /* padded thresholds; NULL: store the int32 sums */
    int32_t steps;           /* binary-search steps (2^steps bounds) */
    const uint8_t *w;        /* combined weight indices, blocked */
    uint16_t *scratch;       /* group tables (4-byte aligned); precomputed: their addresses */
    int32_t *acc;            /* the units' sums between chunks */
    const uint16_t *tables;  /* precomputed group tables (flash); NULL: built per inference */
    int32_t level_bits;      /* precomputed: bits of an input level in a table's pattern */
    const uint16_t *short_tables;  /* precomputed: the short last group's tables */
} hwsim_lut_grouped_call;

void hwsim_lut_grouped_dense(const hwsim_lut_grouped_call *call, const uint8_t *x, void *y);

/* The kernel with precomputed group tables (lut_grouped_flash.c), called by
 * hwsim_lut_grouped_dense when call->tables is set: for small L, a full group's L^g tables
 * of K^g entries, the one of input levels x_0 .. x_(g-1) at pattern
 * x_0 + (x_1 << level_bits) + ..., each 2^table_shift bytes (short_tables: the short last
 * group's, of K^r entries). Every group's table is looked up where it lies (its address
 * in scratch, one word per group); nothing is built; one chunk. */
void hwsim_lut_grouped_flash_dense(const hwsim_lut_grouped_call *call, const uint8_t *x,
                                   void *y);

/* The lookups of every unit over the group tables at tables[0 .. groups) (one address a
 * group, lut_grouped_flash.c): blocked as the dense kernel's weights, outputs y[0 .. units). */
void hwsim_lut_grouped_lookup(const hwsim_lut_grouped_call *call,
                              const uint16_t *const *tables, void *y);

/* The group table of the r <= g inputs at x into t (K^r entries, lut_grouped.c). */
void hwsim_lut_grouped_build(const hwsim_lut_grouped_call *call, const uint8_t *x, int32_t r,
                             uint16_t *t);

/* A convolution (conv1d as height 1, conv2d; valid or 'same', any strides) with grouped
 * lookups (lut_grouped_conv.c). Groups are g consecutive channels of one input pixel (a
 * pixel of C channels: C / g full groups and, when g does not divide C, a short last
 * group of C mod g inputs), so every window covers whole groups and its taps
 * (kernel row, kernel column, channel) are dense's inputs: the window's combined weight
 * indices, per unit (kh kw groups_per_pixel), are blocked as dense's. Each input row's
 * group tables are built once, when the first output row reading it comes, into a ring
 * of kh rows (the row's pixels, each its groups' tables, 2^table_shift bytes apart); per
 * output position the window's table addresses (kh x kw x groups_per_pixel) are written
 * into dense.scratch and hwsim_lut_grouped_lookup runs every unit over them. A tap the
 * 'same' padding clips points at the padding pixel `pad`: per group a table whose every
 * entry is r B (the offsets of its r inputs, which the folded bias takes back), so a
 * clipped tap adds nothing, as in the ungrouped library. Every offset below is
 * precomputed by the code generator (the kernel never multiplies). */
typedef struct {
    hwsim_lut_grouped_call dense;  /* table, build, units, groups (a window's), bias, w, ... */
    int32_t out_h, out_w;          /* output positions */
    int32_t in_w;                  /* input pixels per row */
    int32_t kh, kw;                /* kernel rows and columns */
    int32_t pixel_full;            /* full groups of a pixel: C / g */
    int32_t pixel_short;           /* inputs of a pixel's short last group (0: none) */
    int32_t pixel_groups;          /* groups of a pixel */
    int32_t y_step;                /* output bytes per position */
    const int32_t *build_first;    /* per output row: the first input row to build */
    const int32_t *build_end;      /* per output row: one past the last input row to build */
    const int32_t *build_x;        /* per output row: x offset of build_first's row */
    const int32_t *ring_row;       /* per input row: byte offset of its tables in the ring */
    const int32_t *window_row;     /* per output row and kernel row: ring offset, -1 padding */
    const int32_t *window_col;     /* per output column and kernel column: a pixel's table
                                    * offset in its row, -1 padding */
    uint8_t *ring;                 /* group tables of kh input rows (4-byte aligned, RAM) */
    const uint8_t *pad;            /* the padding pixel's tables; NULL: nothing clipped */
} hwsim_lut_grouped_conv_call;

void hwsim_lut_grouped_conv(const hwsim_lut_grouped_conv_call *call, const uint8_t *x, void *y);

/* Store unit o's output: its level by the binary search over the bounds, or its sum. */
void hwsim_lut_grouped_store(const hwsim_lut_grouped_call *call, void *y, int32_t o,
                             int32_t sum);

#endif
