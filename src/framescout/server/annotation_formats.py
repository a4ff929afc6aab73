"""Parse annotation files (COCO, Pascal VOC, YOLO, Roboflow JSON) into the stored `Box` type, in
pixels, for one image."""

from __future__ import annotations

import io
import math
import posixpath
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

from framescout import jsontext
from framescout.predictions.box import Box, center_to_corners
from framescout.store.errors import Invalid
from framescout.store.validation import MAX_BOXES_PER_IMAGE, check_box_count

FORMATS = ("coco", "voc", "yolo", "roboflow")
MAX_ANNOTATION_BYTES = 64 * 1024 * 1024
"""Size cap of one annotation file's JSON (the request body cap, smaller by default, applies first)."""


def _bad(message: str) -> Invalid:
    return Invalid("invalid_annotation", message)


def detect_format(text: str, filename: str | None) -> str:
    """Guess the format from the file name's extension, then from the content."""
    ext = posixpath.splitext((filename or "").lower())[1]
    stripped = text.lstrip()
    if ext == ".xml" or stripped.startswith("<"):
        return "voc"
    if ext == ".txt":
        return "yolo"
    if stripped.startswith(("{", "[")):
        data = _json(text)
        if isinstance(data, dict) and "annotations" in data and "images" in data:
            return "coco"
        return "roboflow"
    if ext == ".json":
        _json(text)  # names the JSON error
    return "yolo"


def labelmap_names(labelmap: Any) -> dict[int, str] | None:
    """A labelmap given as a list of names or a mapping of id → name."""
    if labelmap is None:
        return None
    if isinstance(labelmap, Mapping):
        try:
            return {int(k): str(v) for k, v in labelmap.items()}
        except (TypeError, ValueError):
            raise _bad("labelmap keys must be class ids") from None
    if isinstance(labelmap, Sequence) and not isinstance(labelmap, str):
        return {i: str(v) for i, v in enumerate(labelmap)}
    raise _bad("labelmap must be a list of names or an object of id → name")


def parse_annotation(
    text: str,
    *,
    fmt: str | None,
    filename: str | None,
    image_name: str,
    width: int,
    height: int,
    labelmap: Any = None,
    classes: Sequence[str] = (),
) -> list[Box]:
    """Boxes for the image ``image_name`` from an annotation file's text."""
    fmt = fmt or detect_format(text, filename)
    if fmt == "coco":
        return _coco(_json(text), image_name)
    if fmt == "voc":
        return _voc(text)
    if fmt == "yolo":
        names = labelmap_names(labelmap) or dict(enumerate(classes))
        return _yolo(text, names, width, height)
    if fmt == "roboflow":
        return _roboflow(_json(text))
    raise Invalid("invalid_format", f"annotation format must be one of {FORMATS}; got {fmt!r}")


def _json(text: str) -> Any:
    """The annotation's JSON, depth- and size-checked before parsing (`framescout.jsontext`)."""
    return jsontext.loads(text, "the annotation", max_bytes=MAX_ANNOTATION_BYTES)


def _json_number(value: Any, what: str) -> float:
    """A number from a JSON format: an int or float (not a string, bool or null), finite."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise _bad(f"{what} must be a number; got {_show(value)}")
    return _number(value, what)


def _coco_id(value: Any, what: str) -> int | str:
    """A COCO id: an integer (strings are tolerated); lists, objects, bools and null are refused."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _bad(f"{what} must be an integer id; got {_show(value)}")
    return value


def _class_name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _bad(f"{what} must be a non-empty string; got {_show(value)}")
    return value


def _show(value: Any) -> str:
    text = "null" if value is None else repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def _number(value: Any, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise _bad(f"{what} must be a number; got {_show(value)}") from None
    if not math.isfinite(number):
        raise _bad(f"{what} must be finite")
    return number


def _coco(data: Any, image_name: str) -> list[Box]:
    if not isinstance(data, dict):
        raise _bad("a COCO file must be a JSON object")
    images, annotations, categories = data.get("images"), data.get("annotations"), data.get("categories", [])
    if not isinstance(images, list) or not isinstance(annotations, list) or not isinstance(categories, list):
        raise _bad("a COCO file needs 'images', 'annotations' and 'categories' lists")
    base = posixpath.basename(image_name)
    entry = next(
        (
            im
            for im in images
            if isinstance(im, dict) and posixpath.basename(str(im.get("file_name", ""))) == base
        ),
        None,
    )
    if entry is None and len(images) == 1 and isinstance(images[0], dict):
        entry = images[0]
    if entry is None:
        raise Invalid("image_not_in_annotation", f"the COCO file has no image named {base!r}")
    names = {
        _coco_id(c.get("id"), f"categories[{j}].id"): _class_name(c.get("name"), f"categories[{j}].name")
        for j, c in enumerate(categories)
        if isinstance(c, dict)
    }
    image_id = entry.get("id")
    if image_id is not None:
        image_id = _coco_id(image_id, "images[].id")
    boxes = []
    for i, ann in enumerate(annotations):
        if not isinstance(ann, dict) or ann.get("image_id") != image_id:
            continue
        bbox = ann.get("bbox")
        if not isinstance(bbox, list) or len(bbox) != 4:
            raise _bad(f"annotations[{i}].bbox must be [x, y, width, height]")
        x, y, w, h = (_json_number(v, f"annotations[{i}].bbox") for v in bbox)
        category = _coco_id(ann.get("category_id"), f"annotations[{i}].category_id")
        if category not in names:
            raise Invalid("unknown_class", f"annotations[{i}] has category_id {category!r} not in categories")
        boxes.append(Box(names[category], x, y, x + w, y + h, iscrowd=_iscrowd(ann, i)))
    return boxes


def _iscrowd(ann: dict[str, Any], i: int) -> bool:
    """COCO's ``iscrowd``: 0 or 1 (absent means 0); anything else is refused."""
    value = ann.get("iscrowd", 0)
    if value in (0, 1) and not isinstance(value, float | str):
        return bool(value)
    raise _bad(f"annotations[{i}].iscrowd must be 0 or 1; got {_show(value)}")


def _voc(text: str) -> list[Box]:
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise _bad("Pascal VOC files with DTDs or entities are refused")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise Invalid("malformed_xml", f"the annotation is not valid XML: {exc}") from None
    boxes = []
    for i, obj in enumerate(root.iter("object")):
        name = (obj.findtext("name") or "").strip()
        bnd = obj.find("bndbox")
        if not name or bnd is None:
            raise _bad(f"object {i} needs <name> and <bndbox>")
        coords = [_number(bnd.findtext(k), f"object {i} {k}") for k in ("xmin", "ymin", "xmax", "ymax")]
        boxes.append(Box(name, coords[0], coords[1], coords[2], coords[3]))
    return boxes


def _yolo(text: str, names: Mapping[int, str], width: int, height: int) -> list[Box]:
    boxes = []
    for n, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) not in (5, 6):
            raise _bad(f"YOLO line {n} must be 'class cx cy w h [confidence]'; got {line.strip()[:80]!r}")
        try:
            class_id = int(parts[0])
        except ValueError:
            raise _bad(f"YOLO line {n}: class must be an integer id") from None
        if class_id not in names:
            raise Invalid(
                "unknown_class",
                f"YOLO line {n}: class id {class_id} has no name (send a labelmap or set classes)",
            )
        cx, cy, w, h = (_number(v, f"YOLO line {n}") for v in parts[1:5])
        conf = _number(parts[5], f"YOLO line {n} confidence") if len(parts) == 6 else None
        x_min, y_min, x_max, y_max = center_to_corners(cx, cy, w, h)
        boxes.append(Box(names[class_id], x_min * width, y_min * height, x_max * width, y_max * height, conf))
    return boxes


def _roboflow(data: Any) -> list[Box]:
    items = data.get("predictions", data.get("annotations")) if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise _bad("Roboflow JSON needs a 'predictions' list")
    check_box_count(len(items))  # before the per-box work
    boxes = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise _bad(f"predictions[{i}] must be an object")
        where = f"predictions[{i}]"
        try:
            x, y = _json_number(item["x"], f"{where}.x"), _json_number(item["y"], f"{where}.y")
            w = _json_number(item["width"], f"{where}.width")
            h = _json_number(item["height"], f"{where}.height")
            name = _class_name(item["class"], f"{where}.class")
        except KeyError as exc:
            raise _bad(f"{where} is missing {exc.args[0]!r}") from None
        confidence = item.get("confidence")
        conf = None if confidence is None else _json_number(confidence, f"{where}.confidence")
        boxes.append(Box.from_center(name, x, y, w, h, conf))
    return boxes


def refuse_too_many_boxes(text: str, fmt: str | None, filename: str | None) -> None:
    """422 ``too_many_boxes`` for a YOLO or VOC text with more boxes than one image may have, found
    by counting (O(cap)) before the per-box parse; JSON formats are checked after their one
    ``json.loads``, by the parsers."""
    ext = posixpath.splitext((filename or "").lower())[1]
    head = text[:64].lstrip()
    count = 0
    if fmt == "voc" or (fmt is None and (ext == ".xml" or head.startswith("<"))):
        count = text.count("<object")
    elif fmt == "yolo" or (fmt is None and not head.startswith(("{", "[")) and ext != ".json"):
        if text.count("\n") < MAX_BOXES_PER_IMAGE:
            return  # cannot be over the cap
        for line in io.StringIO(text):
            count += bool(line.strip())
            if count > MAX_BOXES_PER_IMAGE:
                break
    if count > MAX_BOXES_PER_IMAGE:
        raise Invalid(
            "too_many_boxes",
            f"the annotation has more than {MAX_BOXES_PER_IMAGE:,} boxes for one image; "
            f"at most {MAX_BOXES_PER_IMAGE:,} per image",
        )
