"""Benchmark: COCO AP of the NanoDet-m runner on ../shared/data/coco-tiny val2017.

Target (PRODUCT.md): AP within 0.01 of 0.28 (a correct decoder), pycocotools bbox evaluation at a
score threshold of 0.05 (multi-label, per-class NMS at IoU 0.6, 100 boxes per image). Also prints
AP50 and end-to-end images/s (decode, letterbox, ONNX Runtime on the CPU, NMS).

    python benchmarks/nanodet_coco_ap.py [--threads 2]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from framescout.models import OnnxDetector, load_class_names
from framescout.models.evaluation import coco_ap

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=None, help="ONNX Runtime intra-op threads")
    args = parser.parse_args()
    model, coco = SHARED / "models" / "nanodet-m" / "nanodet_m.onnx", SHARED / "data" / "coco-tiny"
    if not model.exists() or not coco.exists():
        print(f"skipped: needs {model} and {coco} (the ../shared data folder)")
        return
    detector = OnnxDetector(
        model, class_names=load_class_names(model.parent / "coco.names"), threads=args.threads
    )
    score = coco_ap(detector, coco / "annotations" / "instances_val2017.json", coco / "val2017")
    print(f"NanoDet-m runner on coco-tiny val2017 ({score.images} images), pycocotools bbox, score >= 0.05")
    print(f"  AP   {score.ap:.4f}   (target 0.28 +- 0.01)")
    print(f"  AP50 {score.ap50:.4f}   (reference 0.43)")
    print(f"  {score.images_per_s:.1f} images/s end to end (format auto-detected: {detector.format})")


if __name__ == "__main__":
    main()
