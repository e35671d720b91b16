// hwsim RTL driver: clocks a Verilated hwsim_top (any core), holds reset, and prints one
// machine-readable line per testbench event to stdout:
//   HWSIM MARK <clock> <value>      a write to the MARK register
//   HWSIM RESULT <clock> <value>    a write to the RESULT register
//   HWSIM EXIT <clock> <code>       a write to the EXIT register (the run stops)
//   HWSIM END <clocks> <status>     status: exit, timeout (MAX_CYCLES reached) or finish
// <clock> counts rising edges after reset is released; an event is stamped with the edge
// at which the memory accepted the write.
// Arguments: +firmware=FILE.hex (read by the RTL), +max_cycles=N, +wait_states=N.
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "Vtop.h"
#include "verilated.h"

static uint64_t plusarg_u64(VerilatedContext* context, const char* name, uint64_t fallback) {
  const std::string prefix = std::string(name) + "=";
  const std::string match = context->commandArgsPlusMatch(prefix.c_str());
  if (match.empty()) return fallback;
  return std::strtoull(match.c_str() + prefix.size() + 1, nullptr, 0);
}

static void tick(Vtop* top, int level) {
  top->clk_i = level;
  top->eval();
}

int main(int argc, char** argv) {
  const std::unique_ptr<VerilatedContext> context{new VerilatedContext};
  context->commandArgs(argc, argv);
  const uint64_t max_cycles = plusarg_u64(context.get(), "max_cycles", 10000000ULL);
  const uint64_t wait_states = plusarg_u64(context.get(), "wait_states", 0);
  if (wait_states > 255) {
    std::printf("HWSIM ERROR wait_states %" PRIu64 " is above 255\n", wait_states);
    return 2;
  }
  const std::unique_ptr<Vtop> top{new Vtop{context.get()}};
  top->wait_states_i = static_cast<uint8_t>(wait_states);

  // Reset 1 -> 0 -> 1: Ibex's flops reset asynchronously behind a clock gate.
  top->rst_ni = 1;
  tick(top.get(), 0);
  top->rst_ni = 0;
  tick(top.get(), 0);
  for (int i = 0; i < 5; i++) {
    tick(top.get(), 1);
    tick(top.get(), 0);
  }
  top->rst_ni = 1;
  tick(top.get(), 0);

  uint64_t clocks = 0;
  const char* status = "timeout";
  while (clocks < max_cycles) {
    if (context->gotFinish()) {
      status = "finish";
      break;
    }
    tick(top.get(), 1);
    clocks++;
    if (top->event_valid_o) {
      const uint32_t value = top->event_value_o;
      if (top->event_kind_o == 1) {
        std::printf("HWSIM MARK %" PRIu64 " %" PRIu32 "\n", clocks, value);
      } else if (top->event_kind_o == 3) {
        std::printf("HWSIM RESULT %" PRIu64 " %" PRIu32 "\n", clocks, value);
      } else if (top->event_kind_o == 2) {
        std::printf("HWSIM EXIT %" PRIu64 " %" PRIu32 "\n", clocks, value);
        status = "exit";
        break;
      }
    }
    tick(top.get(), 0);
  }
  if (context->gotFinish()) status = "finish";
  std::printf("HWSIM END %" PRIu64 " %s\n", clocks, status);
  top->final();
  return 0;
}
