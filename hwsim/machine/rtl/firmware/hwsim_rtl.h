/* The hwsim RTL testbench registers for C firmware. The HWSIM_* addresses are passed
   as -D options from hwsim.machine.rtl.memory_map. */
#ifndef HWSIM_RTL_H
#define HWSIM_RTL_H

#define HWSIM_REGISTER(offset) (*(volatile unsigned int *)(HWSIM_MMIO_BASE + (offset)))
/* The testbench records the clock of this write and the value. */
#define HWSIM_MARK(value) (HWSIM_REGISTER(HWSIM_MARK_OFFSET) = (unsigned int)(value))
/* The testbench records the value. */
#define HWSIM_RESULT(value) (HWSIM_REGISTER(HWSIM_RESULT_OFFSET) = (unsigned int)(value))

#endif
