"""The int8 image tower: dynamic quantisation computed per image, so a score never depends on the batch.

ONNX Runtime's dynamic quantisation picks one activation scale per tensor at run time. Over a batch that
tensor holds every image, so an image's int8 embedding would change with the images that share its batch.
Here the quantised graph runs inside a Scan over the batch axis: each iteration sees one image, so each
activation scale is that image's own and the output for an image is bit-identical alone or in any batch.
On CPUs one image per run costs no throughput: a ViT-B/16 image already gives the matrix products 197
rows, and one image's activations stay in cache where a batch's do not.

Quantised: the linear layers (int8 weights, one scale per output channel; uint8 activations, the u8s8
form VNNI and AVX2 run natively). Kept in float: the patch-embedding convolution (ONNX Runtime's integer
convolution is slower than its float one here and it is 0.7% of the work), the two activation-by-activation
products of attention (4% of the work; quantising the softmax probabilities risks accuracy on real
weights for a gain within noise), LayerNorm, softmax and GELU.
"""
from __future__ import annotations

import os
import tempfile

import numpy as np
import onnx
from onnx import helper, numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic

METHOD = "int8 dynamic, activation scales per image, weights per output channel"
SCAN_AXES = "per_image/axis0"


def per_image(model: onnx.ModelProto) -> onnx.ModelProto:
    """Wraps a graph from one [N,...] input to [N,...] outputs in a Scan over N: every image runs alone,
    whatever the batch."""
    g = model.graph
    if len(g.input) != 1:
        raise ValueError(f"per_image expects a graph with one input, this one has {len(g.input)}")
    inp = g.input[0]
    rename = {inp.name: "per_image/pixels", **{o.name: f"per_image/{o.name}" for o in g.output}}
    inner = []
    for node in g.node:
        node = onnx.NodeProto.FromString(node.SerializeToString())
        node.input[:] = [rename.get(i, i) for i in node.input]
        node.output[:] = [rename.get(o, o) for o in node.output]
        inner.append(node)
    image_dims = [d.dim_value or d.dim_param or None for d in inp.type.tensor_type.shape.dim[1:]]
    squeezes = [helper.make_node("Squeeze", [rename[o.name], SCAN_AXES], [f"per_image/one/{o.name}"], name=f"per_image/Squeeze/{o.name}")
                for o in g.output]
    body = helper.make_graph(
        [helper.make_node("Unsqueeze", ["image", SCAN_AXES], ["per_image/pixels"], name="per_image/Unsqueeze"), *inner, *squeezes],
        "per_image",
        [helper.make_tensor_value_info("image", inp.type.tensor_type.elem_type, image_dims)],
        [helper.make_tensor_value_info(f"per_image/one/{o.name}", o.type.tensor_type.elem_type, None) for o in g.output],
        # The weights live in the body so ONNX Runtime treats them as constants there and pre-packs them.
        initializer=[*g.initializer, numpy_helper.from_array(np.array([0], dtype=np.int64), SCAN_AXES)],
    )
    scan = helper.make_node("Scan", [inp.name], [o.name for o in g.output], name="per_image", num_scan_inputs=1, body=body)
    wrapped = helper.make_model(helper.make_graph([scan], g.name, [inp], list(g.output)), opset_imports=list(model.opset_import),
                                producer_name=model.producer_name, producer_version=model.producer_version)
    wrapped.ir_version = model.ir_version
    return wrapped


def quantize_int8(fp32_path: str, out_path: str) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        quantised = os.path.join(scratch, "int8.onnx")
        quantize_dynamic(fp32_path, quantised, weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"],
                         extra_options={"MatMulConstBOnly": True})
        onnx.save(per_image(onnx.load(quantised)), out_path)

