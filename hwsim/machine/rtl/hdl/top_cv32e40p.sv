// hwsim testbench top for OpenHW CV32E40P (cv32e40p_core without FPU, PULP extensions or
// cluster interface). It boots at address 0.
module hwsim_top #(
    parameter int unsigned RamBytes     = 32'h0010_0000,
    parameter int unsigned MmioBase     = 32'h1000_0000,
    parameter int unsigned MarkOffset   = 0,
    parameter int unsigned ExitOffset   = 4,
    parameter int unsigned ResultOffset = 8
) (
    input  logic        clk_i,
    input  logic        rst_ni,
    input  logic [ 7:0] wait_states_i,
    output logic        event_valid_o,
    output logic [ 1:0] event_kind_o,
    output logic [31:0] event_value_o
);
  logic        instr_req, instr_gnt, instr_rvalid;
  logic [31:0] instr_addr, instr_rdata, ram_instr_rdata;
  logic        data_req, data_gnt, data_rvalid, data_we;
  logic [ 3:0] data_be;
  logic [31:0] data_addr, data_wdata, data_rdata, ram_data_rdata;
  logic        data_write;

  assign data_write = data_req && data_gnt && data_we;

  hwsim_obi_port u_instr_port (
      .clk_i, .rst_ni, .wait_states_i,
      .req_i(instr_req), .gnt_o(instr_gnt), .rvalid_o(instr_rvalid), .rdata_o(instr_rdata),
      .mem_rdata_i(ram_instr_rdata)
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

  cv32e40p_core #(
      .COREV_PULP      (0),
      .COREV_CLUSTER   (0),
      .FPU             (0),
      .ZFINX           (0),
      .NUM_MHPMCOUNTERS(1)
  ) u_core (
      .clk_i,
      .rst_ni,
      .pulp_clock_en_i    (1'b1),
      .scan_cg_en_i       (1'b0),
      .boot_addr_i        (32'h0),
      .mtvec_addr_i       (32'h0),
      .dm_halt_addr_i     (32'h0),
      .hart_id_i          (32'h0),
      .dm_exception_addr_i(32'h0),
      .instr_req_o        (instr_req),
      .instr_gnt_i        (instr_gnt),
      .instr_rvalid_i     (instr_rvalid),
      .instr_addr_o       (instr_addr),
      .instr_rdata_i      (instr_rdata),
      .data_req_o         (data_req),
      .data_gnt_i         (data_gnt),
      .data_rvalid_i      (data_rvalid),
      .data_we_o          (data_we),
      .data_be_o          (data_be),
      .data_addr_o        (data_addr),
      .data_wdata_o       (data_wdata),
      .data_rdata_i       (data_rdata),
      .apu_busy_o         (),
      .apu_req_o          (),
      .apu_gnt_i          (1'b0),
      .apu_operands_o     (),
      .apu_op_o           (),
      .apu_flags_o        (),
      .apu_rvalid_i       (1'b0),
      .apu_result_i       (32'h0),
      .apu_flags_i        ('0),
      .irq_i              (32'h0),
      .irq_ack_o          (),
      .irq_id_o           (),
      .debug_req_i        (1'b0),
      .debug_havereset_o  (),
      .debug_running_o    (),
      .debug_halted_o     (),
      .fetch_enable_i     (1'b1),
      .core_sleep_o       ()
  );
endmodule
