"""A rewrite of an exported ONNX graph that makes the wav2vec2-family conv encoder faster on ONNX Runtime's CPU.

The feature encoder is seven 1-d convolutions over the raw waveform: about 40% of hubert-base's int8 ONNX time on a
2-core CPU (ONNX Runtime's profiler). ONNX Runtime's blocked-layout convolution kernels (NCHWc) serve 2-d
convolutions only, so each 1-d ``Conv`` whose weight is a constant is rewritten as ``Unsqueeze -> 2-d Conv (kernel
1 x k) -> Squeeze``: the same arithmetic on a height-1 image, the same output tensor names and shapes. Measured
side by side (benchmarks/results/cpu_archive.md): the encoder's share of the wall time falls; logits agree with the
1-d graph to float rounding (``tests/test_predict.py``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["conv1d_as_conv2d"]

_AXES = "hf_ser_conv2d_axis"


def conv1d_as_conv2d(path: str | Path) -> int:
    """Rewrite ``path`` in place; returns how many convolutions were rewritten (0 leaves the file untouched)."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    uses: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            uses[name] = uses.get(name, 0) + 1
    nodes, changed = [], set()
    for node in graph.node:
        weight = inits.get(node.input[1]) if node.op_type == "Conv" and len(node.input) > 1 else None
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if (
            weight is None
            or len(weight.dims) != 3
            or uses[weight.name] != 1
            or attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET")
        ):
            nodes.append(node)
            continue
        array = numpy_helper.to_array(weight)
        weight.CopyFrom(numpy_helper.from_array(np.ascontiguousarray(array[:, :, None, :]), weight.name))
        pads = attrs.get("pads", [0, 0])
        image, out = f"{node.output[0]}__as_2d_in", f"{node.output[0]}__as_2d_out"
        nodes.append(helper.make_node("Unsqueeze", [node.input[0], _AXES], [image]))
        nodes.append(
            helper.make_node(
                "Conv",
                [image, *node.input[1:]],
                [out],
                name=node.name,
                kernel_shape=[1, attrs.get("kernel_shape", [array.shape[2]])[0]],
                strides=[1, attrs.get("strides", [1])[0]],
                dilations=[1, attrs.get("dilations", [1])[0]],
                pads=[0, pads[0], 0, pads[1]],
                group=attrs.get("group", 1),
            )
        )
        nodes.append(helper.make_node("Squeeze", [out, _AXES], [node.output[0]]))
        changed.add(weight.name)
    if changed:  # the weights' recorded 3-d shapes go too (shape inference would find them contradicted)
        kept = [v for v in graph.value_info if v.name not in changed]
        del graph.value_info[:]
        graph.value_info.extend(kept)
        graph.initializer.append(numpy_helper.from_array(np.array([2], dtype=np.int64), _AXES))
        del graph.node[:]
        graph.node.extend(nodes)
        onnx.checker.check_model(model)
        onnx.save(model, str(path))
    return len(changed)
