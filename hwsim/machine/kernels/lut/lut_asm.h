/* The hand-allocated passes of the lut kernels on Arm (included by lut.c): gcc spills a
 * blocked loop's registers, so the pass over a window row's inputs is inline assembly.
 *
 * Per input: LDRB of its level, LSLS by the row shift and ADD of the table (the row
 * pointer), and one LDR of the word of the block's weight codes for that tap (the taps'
 * codes are padded to whole words: hwsim.ir.lut_kernels.byte_tap_bytes); per connection
 * the code taken out of the word (UXTB, UBFX, LSRS or two shifts: no load), the entry's
 * load from [row, code] and ADD. Byte loads of the codes would cost a load per
 * connection; one word load brings four.
 *
 * Armv6-M (block 4): the four accumulators in r8-r11 (ADD reaches the high registers,
 * loads only the low ones), the table's address and the loop's end high too (ADD and CMP
 * reach them), eight inputs per pass (LDR's 5-bit word offset). A code becomes its
 * entry's byte offset by shifts (HWSIM_LUT_ASM_CODE0..3: two for the middle bytes; an
 * index of 16-bit entries (_s16i) is doubled on the way: a shift and an AND with 0x1fe).
 * Armv7E-M (block 7, two words per tap): seven accumulators, the pointers, the row
 * shift, the table and three temporaries take every register but sp and pc; the loop's
 * end is read from the stack once per eight inputs; the quad after the blocks (four
 * units) has a pass of its own (one word per tap).
 * Packed codes (HWSIM_LUT_PACK_*) take the byte codes' place in the blocks. */
#ifndef HWSIM_LUT_ASM_H
#define HWSIM_LUT_ASM_H

#define HWSIM_LUT_STR2(s) #s
#define HWSIM_LUT_STR(s) HWSIM_LUT_STR2(s)
#define HWSIM_LUT_ASM_UNROLL 8
#define HWSIM_LUT_ASM_INPUT(k)                                                        \
    "ldrb %[rw], [%[xp], #" HWSIM_LUT_STR(k) "]\n\t"                                   \
    "lsls %[rw], %[shift]\n\t"                                                        \
    "add  %[rw], %[table]\n\t"
/* One word of codes: its load (byte offset `at`), then four connections. */
#define HWSIM_LUT_ASM_WORD(at) "ldr %[wv], [%[wp], #(" at ")]\n\t"
#define HWSIM_LUT_ASM_FOUR(a, b, c, d)                                                \
    HWSIM_LUT_ASM_CODE0 HWSIM_LUT_ASM_LOAD "add  %[" #a "], %[t]\n\t"                    \
    HWSIM_LUT_ASM_CODE1 HWSIM_LUT_ASM_LOAD "add  %[" #b "], %[t]\n\t"                    \
    HWSIM_LUT_ASM_CODE2 HWSIM_LUT_ASM_LOAD "add  %[" #c "], %[t]\n\t"                    \
    HWSIM_LUT_ASM_CODE3 HWSIM_LUT_ASM_LOAD "add  %[" #d "], %[t]\n\t"
#define HWSIM_LUT_ASM_THREE(a, b, c)                                                  \
    HWSIM_LUT_ASM_CODE0 HWSIM_LUT_ASM_LOAD "add  %[" #a "], %[t]\n\t"                    \
    HWSIM_LUT_ASM_CODE1 HWSIM_LUT_ASM_LOAD "add  %[" #b "], %[t]\n\t"                    \
    HWSIM_LUT_ASM_CODE2 HWSIM_LUT_ASM_LOAD "add  %[" #c "], %[t]\n\t"
/* One input of a four-unit pass (the Armv6-M block, the Armv7E-M quad): word k. */
#define HWSIM_LUT_ASM_INPUT4(k)                                                       \
    HWSIM_LUT_ASM_WORD(HWSIM_LUT_STR(k) "*4") HWSIM_LUT_ASM_INPUT(k)                    \
    HWSIM_LUT_ASM_FOUR(a0, a1, a2, a3)
#define HWSIM_LUT_ASM_STEP4                                                           \
    HWSIM_LUT_ASM_INPUT4(0) "adds %[xp], #1\n\tadds %[wp], #4\n\t.syntax divided\n"
#define HWSIM_LUT_ASM_PASS4                                                           \
    HWSIM_LUT_ASM_INPUT4(0) HWSIM_LUT_ASM_INPUT4(1) HWSIM_LUT_ASM_INPUT4(2)             \
    HWSIM_LUT_ASM_INPUT4(3) HWSIM_LUT_ASM_INPUT4(4) HWSIM_LUT_ASM_INPUT4(5)             \
    HWSIM_LUT_ASM_INPUT4(6) HWSIM_LUT_ASM_INPUT4(7)                                   \
    "adds %[xp], #8\n\tadds %[wp], #32\n\t" HWSIM_LUT_ASM_END                          \
    "beq 2f\n\tb 1b\n2:\n\t.syntax divided\n"        /* bne reaches 256 bytes back */
/* The loop's end: in a register (default), or read from the stack where the mask takes
 * Armv6-M's last low register (HWSIM_LUT_ASM_XE "m", HWSIM_LUT_ASM_END_LOADED). */
#define HWSIM_LUT_ASM_END_LOADED "ldr %[t], %[xe]\n\tcmp %[xp], %[t]\n\t"

#if HWSIM_LUT_BLOCK == 4
/* Armv6-M. Byte offsets (_s8, _s16): */
#define HWSIM_LUT_OFFSET_CODE0 "uxtb %[t], %[wv]\n\t"
#define HWSIM_LUT_OFFSET_CODE1 "lsls %[t], %[wv], #16\n\tlsrs %[t], %[t], #24\n\t"
#define HWSIM_LUT_OFFSET_CODE2 "lsls %[t], %[wv], #8\n\tlsrs %[t], %[t], #24\n\t"
#define HWSIM_LUT_OFFSET_CODE3 "lsrs %[t], %[wv], #24\n\t"
/* indices of 16-bit entries (_s16i), doubled: */
#define HWSIM_LUT_INDEX_CODE0 "lsls %[t], %[wv], #24\n\tlsrs %[t], %[t], #23\n\t"
#define HWSIM_LUT_INDEX_CODE1 "lsrs %[t], %[wv], #7\n\tands %[t], %[mask]\n\t"
#define HWSIM_LUT_INDEX_CODE2 "lsrs %[t], %[wv], #15\n\tands %[t], %[mask]\n\t"
#define HWSIM_LUT_INDEX_CODE3 "lsrs %[t], %[wv], #24\n\tlsls %[t], %[t], #1\n\t"
#define HWSIM_LUT_ASM_STEP HWSIM_LUT_ASM_STEP4
#define HWSIM_LUT_ASM_PASS HWSIM_LUT_ASM_PASS4
#define HWSIM_LUT_ASM_OUTPUTS                                                         \
    [a0] "+h"(a0), [a1] "+h"(a1), [a2] "+h"(a2), [a3] "+h"(a3), [xp] "+l"(xp),        \
    [wp] "+l"(wp), [rw] "=&l"(rw), [t] "=&l"(t), [wv] "=&l"(wv)
#define HWSIM_LUT_ASM_INPUTS                                                          \
    [xe] HWSIM_LUT_ASM_XE(xe), [shift] "l"(shift), [table] "h"(table) HWSIM_LUT_ASM_MASK
/* Packed codes: one LDRH (4-bit codes) or LDRB (2-bit) brings an input's four codes; a
 * code becomes its entry's byte offset by a shift (to offset x entry bytes) and an AND
 * with the mask (code mask x entry bytes). */
#define HWSIM_LUT_PACK_CONNECTION(j, acc)                                             \
    "lsrs %[t], %[wv], #(" HWSIM_LUT_STR(HWSIM_LUT_PACK_BITS) "*" #j "-"                 \
    HWSIM_LUT_STR(HWSIM_LUT_ESHIFT) ")\n\tands %[t], %[mask]\n\t"                       \
    HWSIM_LUT_PACK_ENTRY "add  %[" #acc "], %[t]\n\t"
#define HWSIM_LUT_PACK_CONNECTION0(acc)                                               \
    "lsls %[t], %[wv], #" HWSIM_LUT_STR(HWSIM_LUT_ESHIFT) "\n\tands %[t], %[mask]\n\t"   \
    HWSIM_LUT_PACK_ENTRY "add  %[" #acc "], %[t]\n\t"
#define HWSIM_LUT_PACK_BLOCK(k)                                                       \
    HWSIM_LUT_PACK_LOAD(k) HWSIM_LUT_ASM_INPUT(k)                                     \
    HWSIM_LUT_PACK_CONNECTION0(a0) HWSIM_LUT_PACK_CONNECTION(1, a1)                   \
    HWSIM_LUT_PACK_CONNECTION(2, a2) HWSIM_LUT_PACK_CONNECTION(3, a3)
#define HWSIM_LUT_PACK_END                                                            \
    HWSIM_LUT_ASM_END_LOADED "beq 2f\n\tb 1b\n2:\n\t.syntax divided\n"  /* bne: 256 B back */
#define HWSIM_LUT_PACK_OUTPUTS HWSIM_LUT_ASM_OUTPUTS
#define HWSIM_LUT_PACK_INPUTS                                                         \
    [xe] "m"(xe), [shift] "l"(shift), [table] "h"(table),                             \
    [mask] "l"(((1u << HWSIM_LUT_PACK_BITS) - 1u) << HWSIM_LUT_ESHIFT)
#define HWSIM_LUT_PACK_ENTRY8 "ldrsb %[t], [%[rw], %[t]]\n\t"
#define HWSIM_LUT_PACK_ENTRY16 "ldrsh %[t], [%[rw], %[t]]\n\t"
#else
/* Armv7E-M: a code is a byte of the word (the entry's load scales an index). */
#define HWSIM_LUT_OFFSET_CODE0 "uxtb %[t], %[wv]\n\t"
#define HWSIM_LUT_OFFSET_CODE1 "ubfx %[t], %[wv], #8, #8\n\t"
#define HWSIM_LUT_OFFSET_CODE2 "ubfx %[t], %[wv], #16, #8\n\t"
#define HWSIM_LUT_OFFSET_CODE3 "lsrs %[t], %[wv], #24\n\t"
#define HWSIM_LUT_ASM_INPUT7(k)                                                       \
    HWSIM_LUT_ASM_WORD(HWSIM_LUT_STR(k) "*8") HWSIM_LUT_ASM_INPUT(k)                    \
    HWSIM_LUT_ASM_FOUR(a0, a1, a2, a3)                                                \
    HWSIM_LUT_ASM_WORD(HWSIM_LUT_STR(k) "*8+4") HWSIM_LUT_ASM_THREE(a4, a5, a6)
#define HWSIM_LUT_ASM_STEP                                                            \
    HWSIM_LUT_ASM_INPUT7(0) "adds %[xp], #1\n\tadds %[wp], #8\n\t.syntax divided\n"
#define HWSIM_LUT_ASM_PASS                                                            \
    HWSIM_LUT_ASM_INPUT7(0) HWSIM_LUT_ASM_INPUT7(1) HWSIM_LUT_ASM_INPUT7(2)             \
    HWSIM_LUT_ASM_INPUT7(3) HWSIM_LUT_ASM_INPUT7(4) HWSIM_LUT_ASM_INPUT7(5)             \
    HWSIM_LUT_ASM_INPUT7(6) HWSIM_LUT_ASM_INPUT7(7)                                   \
    "adds %[xp], #8\n\tadds %[wp], #64\n\t"                                          \
    "ldr %[t], %[xe]\n\tcmp %[xp], %[t]\n\tbne 1b\n\t.syntax divided\n"
#define HWSIM_LUT_ASM_OUTPUTS                                                         \
    [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [a4] "+r"(a4),        \
    [a5] "+r"(a5), [a6] "+r"(a6), [xp] "+r"(xp), [wp] "+r"(wp), [rw] "=&r"(rw),         \
    [t] "=&r"(t), [wv] "=&r"(wv)
#define HWSIM_LUT_ASM_INPUTS [xe] "m"(xe), [shift] "r"(shift), [table] "r"(table)
/* The quad after the blocks: four accumulators, the loop's end in a register. */
#define HWSIM_LUT_QUAD_STEP HWSIM_LUT_ASM_STEP4
#define HWSIM_LUT_QUAD_PASS HWSIM_LUT_ASM_PASS4
#define HWSIM_LUT_QUAD_OUTPUTS                                                        \
    [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [xp] "+r"(xp),        \
    [wp] "+r"(wp), [rw] "=&r"(rw), [t] "=&r"(t), [wv] "=&r"(wv)
#define HWSIM_LUT_QUAD_INPUTS [xe] "r"(xe), [shift] "r"(shift), [table] "r"(table)
/* Packed codes: one LDR (4-bit codes) or LDRH (2-bit) brings an input's seven codes; UBFX
 * takes a code out, the entry's load scales it. */
#define HWSIM_LUT_PACK_CONNECTION(j, acc)                                             \
    "ubfx %[t], %[wv], #(" HWSIM_LUT_STR(HWSIM_LUT_PACK_BITS) "*" #j "), #"              \
    HWSIM_LUT_STR(HWSIM_LUT_PACK_BITS) "\n\t" HWSIM_LUT_PACK_ENTRY "add  %[" #acc "], %[t]\n\t"
#define HWSIM_LUT_PACK_BLOCK(k)                                                       \
    HWSIM_LUT_PACK_LOAD(k) HWSIM_LUT_ASM_INPUT(k)                                     \
    HWSIM_LUT_PACK_CONNECTION(0, a0) HWSIM_LUT_PACK_CONNECTION(1, a1)                 \
    HWSIM_LUT_PACK_CONNECTION(2, a2) HWSIM_LUT_PACK_CONNECTION(3, a3)                 \
    HWSIM_LUT_PACK_CONNECTION(4, a4) HWSIM_LUT_PACK_CONNECTION(5, a5)                 \
    HWSIM_LUT_PACK_CONNECTION(6, a6)
#define HWSIM_LUT_PACK_END                                                            \
    "ldr %[t], %[xe]\n\tcmp %[xp], %[t]\n\tbne 1b\n\t.syntax divided\n"
#define HWSIM_LUT_PACK_OUTPUTS HWSIM_LUT_ASM_OUTPUTS
#define HWSIM_LUT_PACK_INPUTS HWSIM_LUT_ASM_INPUTS
#define HWSIM_LUT_PACK_ENTRY8 "ldrsb %[t], [%[rw], %[t]]\n\t"
#define HWSIM_LUT_PACK_ENTRY16 "ldrsh %[t], [%[rw], %[t], lsl #1]\n\t"
#endif
/* Packed codes, both: a block's codes of tap k by one load; a step over one input, a pass
 * over eight (the loop's end per architecture, HWSIM_LUT_PACK_END). */
#define HWSIM_LUT_PACK_LOAD(k)                                                        \
    HWSIM_LUT_PACK_LDR " %[wv], [%[wp], #(" HWSIM_LUT_STR(k) ")*" HWSIM_LUT_STR(HWSIM_LUT_TAP) "]\n\t"
#define HWSIM_LUT_PACK_STEP                                                           \
    HWSIM_LUT_PACK_BLOCK(0) "adds %[xp], #1\n\tadds %[wp], #" HWSIM_LUT_STR(HWSIM_LUT_TAP) \
    "\n\t.syntax divided\n"
#define HWSIM_LUT_PACK_PASS                                                           \
    HWSIM_LUT_PACK_BLOCK(0) HWSIM_LUT_PACK_BLOCK(1) HWSIM_LUT_PACK_BLOCK(2)             \
    HWSIM_LUT_PACK_BLOCK(3) HWSIM_LUT_PACK_BLOCK(4) HWSIM_LUT_PACK_BLOCK(5)             \
    HWSIM_LUT_PACK_BLOCK(6) HWSIM_LUT_PACK_BLOCK(7)                                   \
    "adds %[xp], #8\n\tadds %[wp], #(8*" HWSIM_LUT_STR(HWSIM_LUT_TAP) ")\n\t"            \
    HWSIM_LUT_PACK_END

#endif
