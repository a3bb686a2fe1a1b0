"""Train the independently written Brevitas ViT (tests/zoo.py, separate q/k/v, 5 heads, depth 3, width 40,
per-tensor weights, non-power-of-two softmax-input scale) on the same digits split, and export it.

    python tests/data/train_independent.py     (writes tests/data/indep_digits.{onnx,pt,json})
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))

from zoo import INDEPENDENT, ZooViT  # noqa: E402

from accelgen.frontend.brevitas_export import export_to_qonnx  # noqa: E402
from accelgen.models.train_digits import train  # noqa: E402


def main() -> None:
    start = time.perf_counter()
    torch.manual_seed(1)
    model, train_acc, test_acc, _ = train(lambda: ZooViT(**INDEPENDENT), epochs=60, seed=1)
    export_to_qonnx(model, (1, 8, 8), HERE / "indep_digits.onnx")
    torch.save(model.state_dict(), HERE / "indep_digits.pt")
    meta = {"config": {k: (v.__name__ if isinstance(v, type) else v) for k, v in INDEPENDENT.items()},
            "train_accuracy": round(train_acc, 4), "test_accuracy": round(test_acc, 4),
            "command": "python tests/data/train_independent.py"}
    (HERE / "indep_digits.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"trained in {time.perf_counter() - start:.0f} s: train {train_acc:.4f}, test {test_acc:.4f}")


if __name__ == "__main__":
    main()
