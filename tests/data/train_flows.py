"""Train the torchvision-style and timm-style float ViTs and the float-residual QAT ViT of tests/flows.py on
the digits split, quantize the float ones with every Brevitas flow (8-bit, calibrated on training images),
and export everything to QONNX.

    python tests/data/train_flows.py [NAME ...]   (writes tests/data/flows/<name>.onnx and flows.json;
                                                  with names, only those exports are redone)

flows.json records, per export, the Brevitas model's accuracy and its predictions on the 360 test images,
so the tests compare the integer simulator with Brevitas without retraining. brevitas_examples'
ptq_common imports tqdm, which accelgen does not depend on: `pip install tqdm` before running this.
"""

from __future__ import annotations

import copy
import json
import sys
import time
import warnings
from pathlib import Path

import torch
from brevitas.graph.calibrate import calibration_mode

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))

from flows import FLOAT_ARCHS, FLOWS, QatFloatResidualViT  # noqa: E402

from accelgen.frontend.brevitas_export import export_to_qonnx  # noqa: E402
from accelgen.models.train_digits import digits_split, train  # noqa: E402

OUT = HERE / "flows"
EPOCHS = 40
CALIBRATION_IMAGES = 512


def predictions(model: torch.nn.Module, images) -> list[int]:
    model.eval()
    with torch.no_grad():
        return model(torch.from_numpy(images)).argmax(1).tolist()


def record(meta: dict, name: str, model: torch.nn.Module, x_te, y_te) -> None:
    export_to_qonnx(model, (1, 8, 8), OUT / f"{name}.onnx")
    pred = predictions(model, x_te)
    acc = sum(int(p == y) for p, y in zip(pred, y_te.tolist())) / len(pred)
    meta[name] = {"brevitas_accuracy": round(acc, 4), "brevitas_predictions": pred}
    print(f"{name}: Brevitas {acc:.4f}", flush=True)


QAT = {"qat-float_residual": QatFloatResidualViT, "qat-asymmetric": lambda: QatFloatResidualViT(asymmetric=True)}


def one_entry_per_line(meta: dict) -> str:
    return "{\n" + ",\n".join(f" {json.dumps(k)}: {json.dumps(v)}" for k, v in meta.items()) + "\n}\n"


def main(only: list[str]) -> None:
    warnings.simplefilter("ignore")
    start = time.perf_counter()
    OUT.mkdir(exist_ok=True)
    x_tr, _, x_te, y_te = digits_split()
    meta: dict = json.loads((OUT / "flows.json").read_text()) if only else {}
    for arch, make in FLOAT_ARCHS.items():
        if only and not any(name.startswith(arch + "-") for name in only):
            continue
        model, _, test_acc, _ = train(make, epochs=EPOCHS, seed=2)
        print(f"{arch}: float {test_acc:.4f}", flush=True)
        for flow, quantize in FLOWS.items():
            if only and f"{arch}-{flow}" not in only:
                continue
            torch.manual_seed(0)
            try:
                quant = quantize(copy.deepcopy(model).eval())
            except RuntimeError as err:  # a limitation of the Brevitas flow itself, recorded as such
                meta[f"{arch}-{flow}"] = {"brevitas_error": str(err).splitlines()[0]}
                print(f"{arch}-{flow}: Brevitas cannot quantize it: {err}", flush=True)
                continue
            with torch.no_grad(), calibration_mode(quant):
                quant(torch.from_numpy(x_tr[:CALIBRATION_IMAGES]))
            record(meta, f"{arch}-{flow}", quant, x_te, y_te)
    for name, make in QAT.items():
        if not only or name in only:
            model, _, _, _ = train(make, epochs=EPOCHS, seed=2)
            record(meta, name, model, x_te, y_te)
    meta["command"] = "python tests/data/train_flows.py"
    (OUT / "flows.json").write_text(one_entry_per_line(meta))
    print(f"done in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
