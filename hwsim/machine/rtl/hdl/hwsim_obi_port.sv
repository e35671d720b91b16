// One OBI port (Ibex, CV32E40P) in front of hwsim_memory. With wait_states_i = 0 the
// request is granted in the cycle it is made and the data (or write response) comes
// back the next cycle, as in Ibex's simple_system RAM. Each wait state withholds the
// grant one more cycle, so a port completes at most one access per wait_states_i + 1
// cycles.
module hwsim_obi_port (
    input  logic        clk_i,
    input  logic        rst_ni,
    input  logic [ 7:0] wait_states_i,
    input  logic        req_i,
    output logic        gnt_o,
    output logic        rvalid_o,
    output logic [31:0] rdata_o,
    input  logic [31:0] mem_rdata_i
);
  logic [7:0] waited_q;
  logic [31:0] rdata_q;

  assign gnt_o = req_i && (waited_q >= wait_states_i);
  assign rdata_o = rdata_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      waited_q <= 8'd0;
      rvalid_o <= 1'b0;
      rdata_q  <= 32'h0;
    end else begin
      waited_q <= (req_i && !gnt_o) ? waited_q + 8'd1 : 8'd0;
      rvalid_o <= gnt_o;
      if (gnt_o) rdata_q <= mem_rdata_i;
    end
  end
endmodule
