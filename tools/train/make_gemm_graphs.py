"""Writes the matrix-product graphs the TypeScript trainer runs on ONNX Runtime (MLAS is ~100x faster than
JavaScript loops for these): C = op(A) @ op(B) for the transposes a training step needs. No weights inside.

  python3 tools/train/make_gemm_graphs.py packages/train/graphs
"""
import os
import sys

import onnx
from onnx import TensorProto, helper


def gemm_graph(trans_a: int, trans_b: int) -> onnx.ModelProto:
    a = helper.make_tensor_value_info("A", TensorProto.FLOAT, ["a0", "a1"])
    b = helper.make_tensor_value_info("B", TensorProto.FLOAT, ["b0", "b1"])
    c = helper.make_tensor_value_info("C", TensorProto.FLOAT, ["c0", "c1"])
    node = helper.make_node("Gemm", ["A", "B"], ["C"], transA=trans_a, transB=trans_b)
    graph = helper.make_graph([node], f"gemm_t{trans_a}{trans_b}", [a, b], [c])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="clip-agiqa")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "packages/train/graphs"
    os.makedirs(out, exist_ok=True)
    for ta, tb in ((0, 0), (0, 1), (1, 0)):
        onnx.save(gemm_graph(ta, tb), os.path.join(out, f"gemm_t{ta}{tb}.onnx"))
