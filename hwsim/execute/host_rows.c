/* The executor's one compiled loop (hwsim/execute/host_build.py builds and loads it,
 * hwsim/execute/host.py calls it): the sums of a single weighted layer, one table row
 * gathered per group of inputs per sample and added into that sample's sums. Integer
 * adds only: a row is found through the plan's row offsets (row number -> offset of its
 * first entry, computed once per plan), never by multiplying a level, and every pointer
 * moves by adding its step.
 *
 *   table        the plan's columns: rows of `units` entries or more (padded rows)
 *   offsets      per row number, the offset of the row's first entry in `table`
 *   rows         the row numbers of one group (group k's rows start at k * rows,
 *                so each group's offsets start `rows` entries after the previous one)
 *   digits       per (group, sample), the row within its group: a level or a combined
 *                group index, of type D, `group_step` / `sample_step` bytes apart
 *   out          (samples, units) sums, holding their start values (bias or zeros)
 *
 * Groups are added eight at a time per sample: one pass over a sample's sums per
 * eight rows. Word kernels (u64) add lane-packed int64 words (hwsim/execute/packed.py)
 * modulo 2^64, as numpy does; int kernels add entries into int32 sums that the plan's
 * static bound keeps in range whatever the order.
 */
#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CLONES
#endif

#define ROW(D, j) (table + o##j[*(const D *)(d##j)])

#define KERNEL(NAME, T, D, A)                                                              \
    CLONES void NAME(const T *table, const intptr_t *offsets, ptrdiff_t rows,             \
                     const char *digits, ptrdiff_t group_step, ptrdiff_t sample_step,     \
                     ptrdiff_t groups, ptrdiff_t samples, ptrdiff_t units, A *out)         \
    {                                                                                      \
        const intptr_t *ok = offsets;                                                      \
        const char *dk = digits;                                                           \
        ptrdiff_t k = 0;                                                                   \
        for (; k + 8 <= groups; k += 8) {                                                  \
            const intptr_t *o0 = ok, *o1 = o0 + rows, *o2 = o1 + rows, *o3 = o2 + rows;   \
            const intptr_t *o4 = o3 + rows, *o5 = o4 + rows, *o6 = o5 + rows;             \
            const intptr_t *o7 = o6 + rows;                                                \
            const char *d0 = dk, *d1 = d0 + group_step, *d2 = d1 + group_step;             \
            const char *d3 = d2 + group_step, *d4 = d3 + group_step;                       \
            const char *d5 = d4 + group_step, *d6 = d5 + group_step;                       \
            const char *d7 = d6 + group_step;                                              \
            ok = o7 + rows;                                                                \
            dk = d7 + group_step;                                                          \
            A *acc = out;                                                                  \
            for (ptrdiff_t s = 0; s < samples; s++) {                                      \
                const T *r0 = ROW(D, 0), *r1 = ROW(D, 1), *r2 = ROW(D, 2);                 \
                const T *r3 = ROW(D, 3), *r4 = ROW(D, 4), *r5 = ROW(D, 5);                 \
                const T *r6 = ROW(D, 6), *r7 = ROW(D, 7);                                  \
                for (ptrdiff_t u = 0; u < units; u++)                                      \
                    acc[u] += (A)r0[u] + (A)r1[u] + (A)r2[u] + (A)r3[u] + (A)r4[u]         \
                              + (A)r5[u] + (A)r6[u] + (A)r7[u];                            \
                acc += units;                                                              \
                d0 += sample_step; d1 += sample_step; d2 += sample_step;                   \
                d3 += sample_step; d4 += sample_step; d5 += sample_step;                   \
                d6 += sample_step; d7 += sample_step;                                      \
            }                                                                              \
        }                                                                                  \
        for (; k < groups; k++) {                                                          \
            const intptr_t *o0 = ok;                                                       \
            const char *d0 = dk;                                                           \
            ok += rows;                                                                    \
            dk += group_step;                                                              \
            A *acc = out;                                                                  \
            for (ptrdiff_t s = 0; s < samples; s++) {                                      \
                const T *r0 = ROW(D, 0);                                                   \
                for (ptrdiff_t u = 0; u < units; u++)                                      \
                    acc[u] += (A)r0[u];                                                    \
                acc += units;                                                              \
                d0 += sample_step;                                                         \
            }                                                                              \
        }                                                                                  \
    }

/* Narrow rows (W entries, the plan's row padded to a power of two, W a constant here):
 * per sample, every group's row added into W sums held in registers, then the first
 * `units` of them into the sample's sums (the padding is zeros, never stored). */
#define NARROW(NAME, T, D, A, W)                                                           \
    CLONES void NAME(const T *table, const intptr_t *offsets, ptrdiff_t rows,             \
                     const char *digits, ptrdiff_t group_step, ptrdiff_t sample_step,     \
                     ptrdiff_t groups, ptrdiff_t samples, ptrdiff_t units, A *out)         \
    {                                                                                      \
        const char *ds = digits;                                                           \
        A *acc = out;                                                                      \
        for (ptrdiff_t s = 0; s < samples; s++) {                                          \
            A sums[W];                                                                     \
            for (int u = 0; u < W; u++)                                                    \
                sums[u] = 0;                                                               \
            const intptr_t *ok = offsets;                                                  \
            const char *dk = ds;                                                           \
            for (ptrdiff_t k = 0; k < groups; k++) {                                       \
                const T *row = table + ok[*(const D *)dk];                                 \
                for (int u = 0; u < W; u++)                                                \
                    sums[u] += (A)row[u];                                                  \
                ok += rows;                                                                \
                dk += group_step;                                                          \
            }                                                                              \
            for (ptrdiff_t u = 0; u < units; u++)                                          \
                acc[u] += sums[u];                                                         \
            acc += units;                                                                  \
            ds += sample_step;                                                             \
        }                                                                                  \
    }

#define DIGITS(T, A, NAME)                                                                 \
    KERNEL(rows_##NAME##_u8, T, uint8_t, A)                                                \
    KERNEL(rows_##NAME##_u16, T, uint16_t, A)                                              \
    KERNEL(rows_##NAME##_u32, T, uint32_t, A)

#define NARROW_DIGITS(T, A, NAME, W)                                                       \
    NARROW(narrow##W##_##NAME##_u8, T, uint8_t, A, W)                                      \
    NARROW(narrow##W##_##NAME##_u16, T, uint16_t, A, W)                                    \
    NARROW(narrow##W##_##NAME##_u32, T, uint32_t, A, W)

DIGITS(int8_t, int32_t, i8)
DIGITS(int16_t, int32_t, i16)
DIGITS(int32_t, int32_t, i32)
DIGITS(uint64_t, uint64_t, u64)
/* the widths the plan pads rows of up to 32 bytes to (hwsim/execute/plan.py row_bytes) */
NARROW_DIGITS(int8_t, int32_t, i8, 4)
NARROW_DIGITS(int8_t, int32_t, i8, 8)
NARROW_DIGITS(int8_t, int32_t, i8, 16)
NARROW_DIGITS(int8_t, int32_t, i8, 32)
NARROW_DIGITS(int16_t, int32_t, i16, 4)
NARROW_DIGITS(int16_t, int32_t, i16, 8)
NARROW_DIGITS(int16_t, int32_t, i16, 16)
NARROW_DIGITS(int32_t, int32_t, i32, 4)
NARROW_DIGITS(int32_t, int32_t, i32, 8)
NARROW_DIGITS(uint64_t, uint64_t, u64, 2)
NARROW_DIGITS(uint64_t, uint64_t, u64, 4)
