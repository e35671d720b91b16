"""The arena TensorFlow Lite Micro allocates for an imported model, computed without TFLM.

TFLM splits its one arena in two (micro_allocator.cc):

- the non-persistent *head*: every non-constant tensor of the file (graph input, every op
  output, PAD and RESHAPE outputs included: TFLM gives a reshape's output its own buffer)
  plus the kernels' scratch requests, placed by the greedy memory planner
  (greedy_memory_planner.cc): each buffer is 16-B aligned (micro_allocation_info.cc,
  MicroArenaBufferAlignment), lives from the op that writes it (0 for a graph input) to the
  last op that reads it (the last op for a graph output); buffers are placed largest first
  (of equal sizes, the highest tensor index first; scratch buffers count after the
  tensors) at the lowest offset that overlaps no placed buffer alive at the same time.
  The head is the highest end.
- the persistent *tail*: one TfLiteEvalTensor per tensor of the file, one
  NodeAndRegistration per op, a TfLiteTensor (+ quantization) for each graph input and
  output, each op's builtin options struct (MicroBuiltinDataAllocator) and what each
  kernel's Prepare allocates with AllocatePersistentBuffer (16-B aligned): its OpData
  struct and, for int8 conv and depthwise, the per-channel output multipliers and shifts
  (two int32 per output channel), plus a fixed part (the allocator, planner and graph
  objects themselves).

Struct sizes are those of the host (64-bit) build of the `tflite-micro` PyPI runtime
(0.dev20261023182759, reference kernels), each measured with its RecordingMicroAllocator
on one-op models and named after its struct in the TFLM source (`HOST_64BIT`, what the
runtime prints). `MCU_32BIT` lays the pointer-holding structs out again with 4-B pointers
(TfLiteEvalTensor 12 B instead of 24, NodeAndRegistration 32 instead of 64, ...); its fixed
part is an estimate. The head (activation bytes) is the same on both.
Ops outside the measured table are given a 32-B OpData and no builtin data; the result
says which (`estimated`).
"""
from __future__ import annotations

from dataclasses import dataclass

from hwsim.importers.model import ImportedModel, Op

ALIGNMENT = 16    # MicroArenaBufferAlignment() (micro_arena_constants.h), on every target
_DTYPE_BYTES = {"int8": 1, "uint8": 1, "int16": 2, "int32": 4, "int64": 8, "float32": 4}

# kind -> (builtin options struct bytes, kernel OpData bytes, per-channel multipliers and shifts?)
# on the 64-bit host. Builtin structs (c/builtin_op_data.h, no pointers, so the same on 32
# bit): TfLiteConvParams / TfLiteDepthwiseConvParams 28, TfLiteFullyConnectedParams 16 (28
# measured: the parser's allocations between them), TfLitePoolParams 40 (with its
# TfLitePaddingValues), TfLiteAddParams / TfLiteMulParams 8, TfLiteReshapeParams 36,
# TfLiteSoftmaxParams 4, TfLiteReducerParams 1. OpData (AllocatePersistentBuffer in each
# kernel's Init/Prepare): OpDataConv 80 (kernels/conv.h, also depthwise; with the
# USE_TFLM_COMPRESSION scratch indices), OpDataFullyConnected 72 (fully_connected.h),
# OpDataPooling 32 (pooling.h), OpDataAdd 60 (add.h), OpData of pad.cc 56 (PadParams and
# the output zero point), OpDataReduce 44 (reduce.h), SoftmaxParams 80
# (kernels/internal/types.h).
OP_DATA = {
    "conv2d": (28, 80, True), "depthwise_conv2d": (28, 80, True), "dense": (28, 72, False),
    "avg_pool": (40, 32, False), "max_pool": (40, 32, False), "add": (8, 60, False),
    "reshape": (36, 0, False), "pad": (0, 56, False),
    "mean": (1, 44, False), "softmax": (4, 80, False),
    # measured on chains of two such ops, to the 16-B alignment of each allocation:
    "quantize": (0, 32, False), "dequantize": (0, 16, False), "relu": (0, 32, False),
    "relu6": (0, 16, False), "logistic": (0, 16, False), "mul": (8, 32, False),
}
_UNMEASURED = (0, 32, False)


@dataclass(frozen=True)
class Layout:
    """Struct sizes of one build of TFLM (bytes)."""
    name: str
    eval_tensor: int            # TfLiteEvalTensor {data*, dims*, type} (c/common.h)
    node_and_registration: int  # NodeAndRegistration {TfLiteNode, TFLMRegistration*} (micro_allocator.h)
    io_tensor: int              # TfLiteTensor (reduced, c/common.h) + TfLiteAffineQuantization + zero-point array
    fixed: int                  # allocator, planner and subgraph objects
    op_data: dict               # kind -> OpData bytes where it differs from OP_DATA's host size


# The host build of the `tflite-micro` PyPI runtime, as its RecordingMicroAllocator reports.
HOST_64BIT = Layout("64-bit host", 24, 64, 64 + 24 + 8, 528, {})
# A 32-bit MCU (4-B pointers, size_t and vtable pointers): the same structs laid out again.
# TfLiteTensor 40, TfLiteAffineQuantization 12; OpDataConv 64, OpDataFullyConnected 56,
# SoftmaxParams 56 (their pointers); the fixed part is an estimate (half the host's: it is
# made of pointer-holding objects).
MCU_32BIT = Layout("32-bit MCU", 12, 32, 40 + 12 + 8, 264,
                   {"conv2d": 64, "depthwise_conv2d": 64, "dense": 56, "softmax": 56})


def _align(size: int) -> int:
    return -(-size // ALIGNMENT) * ALIGNMENT


@dataclass(frozen=True)
class Buffer:
    """One buffer of the non-persistent plan: [first_op, last_op] lifetime, placed at offset."""
    name: str
    size_bytes: int
    first_op: int
    last_op: int
    offset_bytes: int = 0


@dataclass(frozen=True)
class TFLMArena:
    """TFLite Micro's arena for one model: the head, and the tail in the host's layout (what
    the Python runtime reports) and a 32-bit MCU's."""
    head_bytes: int                     # non-persistent: the greedy planner's activations + scratch
    tail_bytes: int                     # persistent, 64-bit host layout
    tail_bytes_32bit: int               # persistent, 32-bit MCU layout
    buffers: tuple[Buffer, ...]         # the planned head buffers, with their offsets
    lines: tuple[str, ...]              # what makes up the host tail, one line per part
    estimated: tuple[str, ...] = ()     # ops whose persistent data is not from the measured table

    @property
    def total_bytes(self) -> int:
        return self.head_bytes + self.tail_bytes

    @property
    def total_bytes_32bit(self) -> int:
        return self.head_bytes + self.tail_bytes_32bit

    def __str__(self) -> str:
        return (f"TFLite Micro arena: {self.total_bytes:,} B (head {self.head_bytes:,}, "
                f"persistent {self.tail_bytes:,}; 64-bit host layout, about "
                f"{self.total_bytes_32bit:,} B on a 32-bit MCU)")


def _tensor_bytes(model: ImportedModel, name: str) -> int:
    tensor = model.tensors[name]
    return tensor.element_count * _DTYPE_BYTES[tensor.dtype]


def _scratch(model: ImportedModel, op: Op) -> list[int]:
    """Scratch requests of the reference kernels (RequestScratchBufferInArena): only MEAN."""
    if op.kind == "mean":   # reduce.cc: int32 sums per output element, and the index arrays
        return [4 * model.tensors[op.outputs[0]].element_count, 32]
    return []


def plan_buffers(model: ImportedModel) -> tuple[Buffer, ...]:
    """Lifetimes of the non-constant tensors and scratch buffers (micro_allocation_info.cc)."""
    last = len(model.ops) - 1
    first: dict[str, int] = {name: 0 for name in model.inputs}
    used: dict[str, int] = {}
    scratch: list[Buffer] = []
    for index, op in enumerate(model.ops):
        for name in op.inputs:
            if name and not model.tensors[name].is_constant:
                first.setdefault(name, 0)
                used[name] = index
        for name in op.outputs:
            first.setdefault(name, index)
            used[name] = max(used.get(name, index), index)
        scratch += [Buffer(f"{op.source or op.kind} scratch {i}", _align(size), index, index)
                    for i, size in enumerate(_scratch(model, op))]
    for name in model.outputs:
        used[name] = last
    tensors = [Buffer(name, _align(_tensor_bytes(model, name)), first[name], used.get(name, first[name]))
               for name, tensor in model.tensors.items()
               if name in first and not tensor.is_constant]
    return _greedy(tensors + scratch)


def _greedy(buffers: list[Buffer]) -> tuple[Buffer, ...]:
    """greedy_memory_planner.cc: largest first, each at the lowest free offset. The planner
    lists the buffers from its tail before its stable sort, so of equal sizes the one added
    last (the highest tensor index; scratch buffers after tensors) is placed first."""
    order = sorted(range(len(buffers)), key=lambda i: (-buffers[i].size_bytes, -i))
    placed: list[Buffer] = []
    offsets = [0] * len(buffers)
    for i in order:
        buffer = buffers[i]
        live = sorted((p for p in placed if p.first_op <= buffer.last_op and buffer.first_op <= p.last_op),
                      key=lambda p: p.offset_bytes)
        offset = 0
        for prior in live:
            if prior.offset_bytes - offset >= buffer.size_bytes:
                break
            offset = max(offset, prior.offset_bytes + prior.size_bytes)
        offsets[i] = offset
        placed.append(Buffer(buffer.name, buffer.size_bytes, buffer.first_op, buffer.last_op, offset))
    return tuple(Buffer(b.name, b.size_bytes, b.first_op, b.last_op, offsets[i])
                 for i, b in enumerate(buffers))


def _tail_parts(model: ImportedModel, layout: Layout) -> list[tuple[str, int]]:
    tensors, ops = len(model.tensors), len(model.ops)
    io = len(model.inputs) + len(model.outputs)
    builtin = op_data = requant = 0
    for op in model.ops:
        builtin_bytes, struct_bytes, per_channel = OP_DATA.get(op.kind, _UNMEASURED)
        builtin += builtin_bytes
        op_data += _align(layout.op_data.get(op.kind, struct_bytes))
        if per_channel and model.tensors[op.outputs[0]].dtype in ("int8", "uint8", "int16"):
            requant += 2 * _align(4 * model.tensors[op.outputs[0]].shape[-1])
    return [(f"{tensors} TfLiteEvalTensor x {layout.eval_tensor} B", tensors * layout.eval_tensor),
            (f"{ops} NodeAndRegistration x {layout.node_and_registration} B",
             ops * layout.node_and_registration),
            (f"{io} graph input/output TfLiteTensor with quantization x {layout.io_tensor} B",
             io * layout.io_tensor),
            ("builtin options structs", _align(builtin)),
            ("kernel OpData structs", op_data),
            ("per-channel output multipliers and shifts", requant),
            ("allocator, planner and subgraph objects", layout.fixed)]


def tflm_arena(model: ImportedModel) -> TFLMArena:
    """What TFLite Micro's allocator needs for `model` (docs/import.md §9)."""
    buffers = plan_buffers(model)
    head = max((b.offset_bytes + b.size_bytes for b in buffers), default=0)
    host = _tail_parts(model, HOST_64BIT)
    estimated = tuple(op.source or op.kind for op in model.ops if op.kind not in OP_DATA)
    return TFLMArena(head, sum(size for _, size in host),
                     sum(size for _, size in _tail_parts(model, MCU_32BIT)), buffers,
                     tuple(f"{what}: {size:,} B" for what, size in host), estimated)
