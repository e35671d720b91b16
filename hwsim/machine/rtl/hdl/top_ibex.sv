// hwsim testbench top for lowRISC Ibex (ibex_top, no instruction cache, flip-flop register
// file). The multiplier is chosen by the RV32M define (ibex_pkg::RV32MFast, RV32MSlow,
// RV32MSingleCycle or RV32MNone).
//
// Ibex starts at boot_addr + 0x80 with boot_addr[7:0] ignored, so it cannot start at 0:
// boot_addr is 0xFFFF_FF00 and a fetch of 0xFFFF_FF80 is answered with `jal x0, +0x80`,
// which wraps to the image's entry at 0.
`ifndef RV32M
  `define RV32M ibex_pkg::RV32MFast
`endif

module hwsim_top #(
    parameter int unsigned RamBytes     = 32'h0010_0000,
    parameter int unsigned MmioBase     = 32'h1000_0000,
    parameter int unsigned MarkOffset   = 0,
    parameter int unsigned ExitOffset   = 4,
    parameter int unsigned ResultOffset = 8,
    parameter bit          BranchTargetALU = 1'b0,
    parameter bit          WritebackStage  = 1'b0
) (
    input  logic        clk_i,
    input  logic        rst_ni,
    input  logic [ 7:0] wait_states_i,
    output logic        event_valid_o,
    output logic [ 1:0] event_kind_o,
    output logic [31:0] event_value_o
);
  localparam logic [31:0] BootAddr = 32'hFFFF_FF00;
  localparam logic [31:0] ResetVector = BootAddr + 32'h80;
  // jal x0, +0x80: imm[10:1] = 0x40 sits in instruction bits [30:21]; opcode 0x6f.
  localparam logic [31:0] JumpToZero = (32'h40 << 21) | 32'h6f;

  logic        instr_req, instr_gnt, instr_rvalid;
  logic [31:0] instr_addr, instr_rdata, instr_mem_rdata, ram_instr_rdata;
  logic        data_req, data_gnt, data_rvalid, data_we;
  logic [ 3:0] data_be;
  logic [31:0] data_addr, data_wdata, data_rdata, ram_data_rdata;
  logic        data_write;

  assign instr_mem_rdata = (instr_addr == ResetVector) ? JumpToZero : ram_instr_rdata;
  assign data_write = data_req && data_gnt && data_we;

  hwsim_obi_port u_instr_port (
      .clk_i, .rst_ni, .wait_states_i,
      .req_i(instr_req), .gnt_o(instr_gnt), .rvalid_o(instr_rvalid), .rdata_o(instr_rdata),
      .mem_rdata_i(instr_mem_rdata)
  );

  hwsim_obi_port u_data_port (
      .clk_i, .rst_ni, .wait_states_i,
      .req_i(data_req), .gnt_o(data_gnt), .rvalid_o(data_rvalid), .rdata_o(data_rdata),
      .mem_rdata_i(ram_data_rdata)
  );

  hwsim_memory #(.RamBytes(RamBytes)) u_memory (
      .clk_i,
      .instr_addr_i(instr_addr), .instr_rdata_o(ram_instr_rdata),
      .data_addr_i(data_addr), .data_rdata_o(ram_data_rdata),
      .write_i(data_write), .write_addr_i(data_addr), .write_be_i(data_be),
      .write_data_i(data_wdata)
  );

  hwsim_mmio #(
      .MmioBase(MmioBase), .MarkOffset(MarkOffset), .ExitOffset(ExitOffset),
      .ResultOffset(ResultOffset)
  ) u_mmio (
      .clk_i, .rst_ni,
      .write_i(data_write), .write_addr_i(data_addr), .write_data_i(data_wdata),
      .event_valid_o, .event_kind_o, .event_value_o
  );

  ibex_top #(
      .RV32M          (`RV32M),
      .RegFile        (ibex_pkg::RegFileFF),
      .BranchTargetALU(BranchTargetALU),
      .WritebackStage (WritebackStage),
      .ICache         (1'b0)
  ) u_core (
      .clk_i,
      .rst_ni,
      .test_en_i             (1'b0),
      .scan_rst_ni           (1'b1),
      .ram_cfg_i             (prim_ram_1p_pkg::RAM_1P_CFG_DEFAULT),
      .hart_id_i             (32'h0),
      .boot_addr_i           (BootAddr),
      .instr_req_o           (instr_req),
      .instr_gnt_i           (instr_gnt),
      .instr_rvalid_i        (instr_rvalid),
      .instr_addr_o          (instr_addr),
      .instr_rdata_i         (instr_rdata),
      .instr_rdata_intg_i    (7'h0),
      .instr_err_i           (1'b0),
      .data_req_o            (data_req),
      .data_gnt_i            (data_gnt),
      .data_rvalid_i         (data_rvalid),
      .data_we_o             (data_we),
      .data_be_o             (data_be),
      .data_addr_o           (data_addr),
      .data_wdata_o          (data_wdata),
      .data_wdata_intg_o     (),
      .data_rdata_i          (data_rdata),
      .data_rdata_intg_i     (7'h0),
      .data_err_i            (1'b0),
      .irq_software_i        (1'b0),
      .irq_timer_i           (1'b0),
      .irq_external_i        (1'b0),
      .irq_fast_i            (15'h0),
      .irq_nm_i              (1'b0),
      .scramble_key_valid_i  (1'b0),
      .scramble_key_i        ('0),
      .scramble_nonce_i      ('0),
      .scramble_req_o        (),
      .debug_req_i           (1'b0),
      .crash_dump_o          (),
      .double_fault_seen_o   (),
      .fetch_enable_i        (ibex_pkg::IbexMuBiOn),
      .alert_minor_o         (),
      .alert_major_internal_o(),
      .alert_major_bus_o     (),
      .core_sleep_o          ()
  );
endmodule
