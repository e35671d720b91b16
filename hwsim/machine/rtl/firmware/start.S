/* hwsim RTL testbench start-up: stack at the top of the RAM, call main, write its return
   value to the EXIT register (which ends the run), then wait. */
    .section .text.start, "ax"
    .globl _start
_start:
    li sp, HWSIM_RAM_BYTES
    call main
    li t0, HWSIM_MMIO_BASE
    sw a0, HWSIM_EXIT_OFFSET(t0)
1:  j 1b
