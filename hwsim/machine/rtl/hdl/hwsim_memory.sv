// Flat RAM of the hwsim RTL testbench: words loaded by $readmemh from +firmware=FILE,
// two combinational read ports (instruction, data) and one byte-enabled write port.
// Timing lives in the bus adapters; this module has none of its own.
module hwsim_memory #(
    parameter int unsigned RamBytes = 32'h0010_0000
) (
    input  logic        clk_i,
    input  logic [31:0] instr_addr_i,
    output logic [31:0] instr_rdata_o,
    input  logic [31:0] data_addr_i,
    output logic [31:0] data_rdata_o,
    input  logic        write_i,
    input  logic [31:0] write_addr_i,
    input  logic [ 3:0] write_be_i,
    input  logic [31:0] write_data_i
);
  localparam int unsigned Words = RamBytes / 4;
  localparam int unsigned IndexBits = $clog2(Words);

  logic [31:0] words [Words];
  string firmware;

  initial begin
    for (int unsigned i = 0; i < Words; i++) words[i] = 32'h0;
    if (!$value$plusargs("firmware=%s", firmware)) begin
      $display("HWSIM ERROR no firmware: pass +firmware=FILE.hex");
      $finish;
    end else begin
      $readmemh(firmware, words);
      // A missing or empty image would run illegal instructions forever.
      if (words[0] == 32'h0) begin
        $display("HWSIM ERROR firmware %s holds 0 at the reset vector", firmware);
        $finish;
      end
    end
  end

  function automatic logic [31:0] read_word(logic [31:0] address);
    if (address < RamBytes) return words[address[IndexBits+1:2]];
    return 32'h0;
  endfunction

  assign instr_rdata_o = read_word(instr_addr_i);
  assign data_rdata_o  = read_word(data_addr_i);

  always_ff @(posedge clk_i) begin
    if (write_i && write_addr_i < RamBytes) begin
      for (int b = 0; b < 4; b++) begin
        if (write_be_i[b]) words[write_addr_i[IndexBits+1:2]][8*b +: 8] <= write_data_i[8*b +: 8];
      end
    end
  end
endmodule
