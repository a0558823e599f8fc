"""Convert an int8 TFLite depth model (the built-in scene-depth model, FastDepth) to ONNX, once.

    pip install tflite onnx ai-edge-litert
    python scripts/convert_tflite_depth.py ../shared/teacher/fast_depth_224.tflite \
        --out src/maskdepth/weights/fastdepth.onnx

The ONNX graph keeps the file's int8 weights and the int8 rounding of every activation
(QuantizeLinear/DequantizeLinear pairs with the TFLite tensors' scales and zero points), so
ONNX Runtime gives the same depth as the TFLite interpreter; `--check` compares the two on
real photos and prints how many output pixels differ (each level is one quantisation step of
the output, 7 cm for FastDepth). Run it with ONNX Runtime's basic graph optimisations: the
extended ones fuse the pairs into int8 convolutions whose x86 kernels saturate (about half the
pixels then move by more than 5 %). Interface of the result (what inference/scene_depth.py reads):
input `image` uint8 (1, H, W, 3) RGB 0..255, output `depth` float32 (1, H, W, 1) metres.

Supported TFLite operators: QUANTIZE, PAD, CONV_2D, DEPTHWISE_CONV_2D, RESIZE_NEAREST_NEIGHBOR,
ADD (all FastDepth uses). Anything else stops with the operator's name.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np

try:
    import onnx
    import tflite
    from onnx import TensorProto, helper, numpy_helper
except ModuleNotFoundError as missing:
    raise SystemExit(f"convert_tflite_depth.py needs {missing.name}: pip install tflite onnx "
                     f"ai-edge-litert") from None

OPSET = 17
NAMES = {code: name for name, code in vars(tflite.BuiltinOperator).items() if not name.startswith("_")}
NUMPY_TYPES = {tflite.TensorType.INT8: np.int8, tflite.TensorType.UINT8: np.uint8,
               tflite.TensorType.INT32: np.int32}
ONNX_TYPES = {np.int8: TensorProto.INT8, np.uint8: TensorProto.UINT8}
RELU, RELU6 = tflite.ActivationFunctionType.RELU, tflite.ActivationFunctionType.RELU6


class Graph:
    """ONNX nodes and initializers built up from the TFLite subgraph; float tensors NCHW."""

    def __init__(self, model: tflite.Model):
        self.model, self.subgraph = model, model.Subgraphs(0)
        self.nodes: list = []
        self.initializers: list = []
        self.names: dict[int, str] = {}  # TFLite tensor index -> ONNX name of its float value

    def tensor(self, index: int):
        return self.subgraph.Tensors(index)

    def constant(self, index: int) -> np.ndarray:
        tensor = self.tensor(index)
        data = self.model.Buffers(tensor.Buffer()).DataAsNumpy()
        return data.view(NUMPY_TYPES[tensor.Type()]).reshape(tensor.ShapeAsNumpy())

    def quantisation(self, index: int) -> tuple[np.ndarray, np.ndarray, int]:
        q = self.tensor(index).Quantization()
        return q.ScaleAsNumpy().astype(np.float32), q.ZeroPointAsNumpy(), q.QuantizedDimension()

    def add_constant(self, name: str, array: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: list[str], name: str, **attributes) -> str:
        self.nodes.append(helper.make_node(op, inputs, [name], name=name, **attributes))
        return name

    def requantise(self, value: str, index: int) -> str:
        """`value` rounded and saturated to tensor `index`'s int8 (or uint8) grid, as float."""
        scale, zero, _ = self.quantisation(index)
        dtype = NUMPY_TYPES[self.tensor(index).Type()]
        s = self.add_constant(f"t{index}_scale", scale.reshape(()))
        z = self.add_constant(f"t{index}_zero", zero.astype(dtype).reshape(()))
        q = self.node("QuantizeLinear", [value, s, z], f"t{index}_q")
        return self.node("DequantizeLinear", [q, s, z], f"t{index}")

    def weights(self, index: int, layout: tuple[int, ...], axis: int) -> str:
        """Int8 weights with their per-channel scales, transposed to ONNX's (O, I, kH, kW)."""
        scale, zero, _ = self.quantisation(index)
        w = self.add_constant(f"w{index}", np.ascontiguousarray(self.constant(index).transpose(layout)))
        s = self.add_constant(f"w{index}_scale", scale)
        z = self.add_constant(f"w{index}_zero", zero.astype(np.int8))
        return self.node("DequantizeLinear", [w, s, z], f"w{index}_float", axis=axis)

    def bias(self, index: int, input_index: int, weight_index: int) -> str:
        scale = self.quantisation(input_index)[0][0] * self.quantisation(weight_index)[0]
        return self.add_constant(f"b{index}", (self.constant(index) * scale).astype(np.float32))


def options(op, cls):
    table = op.BuiltinOptions()
    result = cls()
    result.Init(table.Bytes, table.Pos)
    return result


def activation(graph: Graph, value: str, kind: int, name: str) -> str:
    if kind == RELU:
        return graph.node("Relu", [value], name + "_relu")
    if kind == RELU6:
        zero, six = (graph.add_constant(f"{name}_{v}", np.float32(v)) for v in (0, 6))
        return graph.node("Clip", [value, zero, six], name + "_relu6")
    if kind != 0:
        raise SystemExit(f"unsupported fused activation {kind} in {name}")
    return value


def convert_op(graph: Graph, op) -> None:
    name = NAMES[max(graph.model.OperatorCodes(op.OpcodeIndex()).BuiltinCode(),
                     graph.model.OperatorCodes(op.OpcodeIndex()).DeprecatedBuiltinCode())]
    inputs, output = op.InputsAsNumpy().tolist(), int(op.OutputsAsNumpy()[0])
    x = graph.names.get(inputs[0])
    if name == "QUANTIZE":
        value = x
    elif name == "PAD":
        pads = graph.constant(inputs[1])  # (4, 2) NHWC (before, after)
        onnx_pads = [int(pads[i, 0]) for i in (0, 3, 1, 2)] + [int(pads[i, 1]) for i in (0, 3, 1, 2)]
        value = graph.node("Pad", [x, graph.add_constant(f"pads{output}", np.array(onnx_pads, np.int64))],
                           f"pad{output}")
    elif name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        depthwise = name == "DEPTHWISE_CONV_2D"
        opt = options(op, tflite.DepthwiseConv2DOptions if depthwise else tflite.Conv2DOptions)
        if depthwise and opt.DepthMultiplier() != 1:
            raise SystemExit("depthwise convolutions with a depth multiplier are not supported")
        kernel = graph.tensor(inputs[1]).ShapeAsNumpy()
        # TFLite (O, kH, kW, I) and depthwise (1, kH, kW, C) -> ONNX (O, I/groups, kH, kW)
        layout, axis = ((3, 0, 1, 2), 0) if depthwise else ((0, 3, 1, 2), 0)
        w = graph.weights(inputs[1], layout, axis)
        b = graph.bias(inputs[2], inputs[0], inputs[1])
        attributes = {"strides": [opt.StrideH(), opt.StrideW()],
                      "dilations": [opt.DilationHFactor(), opt.DilationWFactor()],
                      "kernel_shape": [int(kernel[1]), int(kernel[2])],
                      "group": int(kernel[3]) if depthwise else 1}
        if opt.Padding() == tflite.Padding.SAME:
            attributes["auto_pad"] = "SAME_UPPER"
        value = graph.node("Conv", [x, w, b], f"conv{output}", **attributes)
        value = activation(graph, value, opt.FusedActivationFunction(), f"conv{output}")
    elif name == "RESIZE_NEAREST_NEIGHBOR":
        opt = options(op, tflite.ResizeNearestNeighborOptions)
        if opt.AlignCorners() or opt.HalfPixelCenters():
            raise SystemExit("only plain nearest resizing (no corner alignment) is supported")
        height, width = graph.tensor(output).ShapeAsNumpy()[1:3]
        sizes = graph.add_constant(f"sizes{output}", np.array([1, graph.tensor(output).ShapeAsNumpy()[3],
                                                                  height, width], np.int64))
        value = graph.node("Resize", [x, "", "", sizes], f"resize{output}", mode="nearest",
                           coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    elif name == "ADD":
        opt = options(op, tflite.AddOptions)
        value = graph.node("Add", [x, graph.names[inputs[1]]], f"add{output}")
        value = activation(graph, value, opt.FusedActivationFunction(), f"add{output}")
    else:
        raise SystemExit(f"unsupported TFLite operator {name}")
    graph.names[output] = graph.requantise(value, output)


def convert(path: Path) -> onnx.ModelProto:
    model = tflite.Model.GetRootAsModel(path.read_bytes(), 0)
    graph = Graph(model)
    source, target = int(graph.subgraph.Inputs(0)), int(graph.subgraph.Outputs(0))
    height, width = graph.tensor(source).ShapeAsNumpy()[1:3]
    scale, zero, _ = graph.quantisation(source)
    as_float = graph.node("Cast", ["image"], "image_float", to=TensorProto.FLOAT)
    nchw = graph.node("Transpose", [as_float], "image_nchw", perm=[0, 3, 1, 2])
    graph.names[source] = graph.node(
        "Mul", [graph.node("Sub", [nchw, graph.add_constant("input_zero", zero.astype(np.float32).reshape(()))],
                           "image_centred"),
                graph.add_constant("input_scale", scale.reshape(()))], "image_dequantised")
    for i in range(graph.subgraph.OperatorsLength()):
        convert_op(graph, graph.subgraph.Operators(i))
    graph.nodes.append(helper.make_node("Transpose", [graph.names[target]], ["depth"], perm=[0, 2, 3, 1]))
    onnx_graph = helper.make_graph(
        graph.nodes, "scene_depth",
        [helper.make_tensor_value_info("image", TensorProto.UINT8, [1, int(height), int(width), 3])],
        [helper.make_tensor_value_info("depth", TensorProto.FLOAT, [1, int(height), int(width), 1])],
        graph.initializers)
    result = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", OPSET)],
                               producer_name="maskdepth scripts/convert_tflite_depth.py")
    result.ir_version = 8
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    helper.set_model_props(result, {"maskdepth.source_tflite_sha256": digest,
                                    "maskdepth.output_units": "metres"})
    onnx.checker.check_model(result)
    return result


def check(tflite_path: Path, onnx_path: Path, photos: list[Path]) -> None:
    """Print, per photo, the share of output pixels whose level differs and the largest gap."""
    import onnxruntime as ort
    from ai_edge_litert.interpreter import Interpreter
    from PIL import Image

    interpreter = Interpreter(str(tflite_path))
    interpreter.allocate_tensors()
    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    out_scale = target["quantization"][0]
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC  # as shipped
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    height, width = source["shape"][1:3]
    for photo in photos:
        rgb = np.asarray(Image.open(photo).convert("RGB").resize((width, height), Image.BILINEAR))
        interpreter.set_tensor(source["index"], rgb[None])
        interpreter.invoke()
        reference = interpreter.get_tensor(target["index"]).astype(np.float32) * out_scale
        ours = session.run(None, {"image": rgb[None]})[0]
        levels = np.abs(np.round((ours - reference) / out_scale))
        ratio = np.maximum(ours, 1e-3) / np.maximum(reference, 1e-3)
        print(f"{photo.name}: {np.mean(levels > 0):.3f} of pixels differ, at most "
              f"{int(levels.max())} level(s), {np.mean(np.abs(ratio - 1) < 0.05):.3f} within 5 %; "
              f"mean depth {reference.mean():.3f} m (TFLite) vs {ours.mean():.3f} m (ONNX)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tflite", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--check", type=Path, nargs="*", default=[], help="photos to compare on")
    args = parser.parse_args()
    onnx.save(convert(args.tflite), str(args.out))
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")
    if args.check:
        check(args.tflite, args.out, args.check)


if __name__ == "__main__":
    main()
