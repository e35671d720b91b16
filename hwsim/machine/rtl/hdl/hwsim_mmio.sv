// Memory-mapped testbench registers: a write to MARK, EXIT or RESULT raises event_valid_o
// for one clock (registered at the clock edge that accepted the write), with the register
// in event_kind_o (1 MARK, 2 EXIT, 3 RESULT) and the written word in event_value_o.
// sim_main.cpp reads the event after that edge and prints it with its clock count.
module hwsim_mmio #(
    parameter int unsigned MmioBase     = 32'h1000_0000,
    parameter int unsigned MarkOffset   = 0,
    parameter int unsigned ExitOffset   = 4,
    parameter int unsigned ResultOffset = 8
) (
    input  logic        clk_i,
    input  logic        rst_ni,
    input  logic        write_i,
    input  logic [31:0] write_addr_i,
    input  logic [31:0] write_data_i,
    output logic        event_valid_o,
    output logic [ 1:0] event_kind_o,
    output logic [31:0] event_value_o
);
  logic [1:0] kind;
  always_comb begin
    kind = 2'd0;
    if (write_i) begin
      if (write_addr_i == MmioBase + MarkOffset) kind = 2'd1;
      else if (write_addr_i == MmioBase + ExitOffset) kind = 2'd2;
      else if (write_addr_i == MmioBase + ResultOffset) kind = 2'd3;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      event_valid_o <= 1'b0;
      event_kind_o  <= 2'd0;
      event_value_o <= 32'h0;
    end else begin
      event_valid_o <= kind != 2'd0;
      event_kind_o  <= kind;
      event_value_o <= write_data_i;
    end
  end
endmodule
