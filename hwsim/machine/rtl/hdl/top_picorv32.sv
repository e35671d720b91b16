// hwsim testbench top for PicoRV32 (native memory interface). With wait_states_i = 0 the
// memory answers in the cycle of the request (mem_ready = mem_valid, combinational read
// data): the memory PicoRV32's README assumes for its CPI table. Each wait state holds
// mem_ready low one more cycle per transfer (fetch, load or store).
module hwsim_top #(
    parameter int unsigned RamBytes     = 32'h0010_0000,
    parameter int unsigned MmioBase     = 32'h1000_0000,
    parameter int unsigned MarkOffset   = 0,
    parameter int unsigned ExitOffset   = 4,
    parameter int unsigned ResultOffset = 8,
    parameter bit          ENABLE_MUL      = 1'b0,
    parameter bit          ENABLE_FAST_MUL = 1'b0,
    parameter bit          ENABLE_DIV      = 1'b0,
    parameter bit          BARREL_SHIFTER  = 1'b0,
    parameter bit          COMPRESSED_ISA  = 1'b0
) (
    input  logic        clk_i,
    input  logic        rst_ni,
    input  logic [ 7:0] wait_states_i,
    output logic        event_valid_o,
    output logic [ 1:0] event_kind_o,
    output logic [31:0] event_value_o
);
  logic        mem_valid, mem_instr, mem_ready;
  logic [31:0] mem_addr, mem_wdata, mem_rdata, ram_instr_rdata;
  logic [ 3:0] mem_wstrb;
  logic [ 7:0] waited_q;
  logic        mem_write;

  assign mem_ready = mem_valid && (waited_q >= wait_states_i);
  assign mem_write = mem_ready && (mem_wstrb != 4'h0);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) waited_q <= 8'd0;
    else waited_q <= (mem_valid && !mem_ready) ? waited_q + 8'd1 : 8'd0;
  end

  hwsim_memory #(.RamBytes(RamBytes)) u_memory (
      .clk_i,
      .instr_addr_i(32'h0), .instr_rdata_o(ram_instr_rdata),
      .data_addr_i(mem_addr), .data_rdata_o(mem_rdata),
      .write_i(mem_write), .write_addr_i(mem_addr), .write_be_i(mem_wstrb),
      .write_data_i(mem_wdata)
  );

  hwsim_mmio #(
      .MmioBase(MmioBase), .MarkOffset(MarkOffset), .ExitOffset(ExitOffset),
      .ResultOffset(ResultOffset)
  ) u_mmio (
      .clk_i, .rst_ni,
      .write_i(mem_write), .write_addr_i(mem_addr), .write_data_i(mem_wdata),
      .event_valid_o, .event_kind_o, .event_value_o
  );

  picorv32 #(
      .ENABLE_MUL     (ENABLE_MUL),
      .ENABLE_FAST_MUL(ENABLE_FAST_MUL),
      .ENABLE_DIV     (ENABLE_DIV),
      .BARREL_SHIFTER (BARREL_SHIFTER),
      .COMPRESSED_ISA (COMPRESSED_ISA),
      .PROGADDR_RESET (32'h0)
  ) u_core (
      .clk       (clk_i),
      .resetn    (rst_ni),
      .trap      (),
      .mem_valid (mem_valid),
      .mem_instr (mem_instr),
      .mem_ready (mem_ready),
      .mem_addr  (mem_addr),
      .mem_wdata (mem_wdata),
      .mem_wstrb (mem_wstrb),
      .mem_rdata (mem_rdata),
      .mem_la_read (),
      .mem_la_write(),
      .mem_la_addr (),
      .mem_la_wdata(),
      .mem_la_wstrb(),
      .pcpi_valid(),
      .pcpi_insn (),
      .pcpi_rs1  (),
      .pcpi_rs2  (),
      .pcpi_wr   (1'b0),
      .pcpi_rd   (32'h0),
      .pcpi_wait (1'b0),
      .pcpi_ready(1'b0),
      .irq       (32'h0),
      .eoi       ()
  );
endmodule
