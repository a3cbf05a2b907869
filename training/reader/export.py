"""Exports the trained reader to int8 ONNX where the library loads it, with its checksums.

    python -m training.reader.export --model training/runs/reader/final

writes ``rag/answering/reader_model/{NAME.int8.onnx, tokenizer.json, NAME.json}`` (``--name``,
default ``reader``; the shipped pair is ``reader`` and ``reader-v5``, whose logits the library
averages); the sha256 values it prints are the ones pinned in rag/answering/span_reader.py's
``MODELS`` (the loader refuses files that do not match them).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from rag.answering.gguf import file_sha256

DEST = Path(__file__).resolve().parents[2] / "rag" / "answering" / "reader_model"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def main(model: Annotated[Path, typer.Option()] = Path("training/runs/reader/final"),
         dest: Annotated[Path, typer.Option()] = DEST,
         name: Annotated[str, typer.Option(help="File stem of the model.")] = "reader") -> None:
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    qa = AutoModelForQuestionAnswering.from_pretrained(str(model),
                                                       attn_implementation="eager").eval()
    tokenizer = AutoTokenizer.from_pretrained(str(model))

    class Reader(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.qa = qa

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            out = self.qa(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=token_type_ids)
            return out.start_logits, out.end_logits

    sample = tokenizer(["Who won?", "Which team won the final?"],
                       ["Iran won.", "Iran beat Japan in the final on Sunday."],
                       padding=True, return_tensors="pt")
    axes = {part: {0: "batch", 1: "sequence"} for part in INPUTS}
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "reader.onnx"
        with torch.no_grad():
            torch.onnx.export(Reader().eval(), tuple(sample[n] for n in INPUTS), str(fp32),
                              input_names=list(INPUTS), output_names=["start_logits",
                                                                      "end_logits"],
                              dynamic_axes={**axes, "start_logits": {0: "batch", 1: "sequence"},
                                            "end_logits": {0: "batch", 1: "sequence"}},
                              opset_version=17, dynamo=False)
        int8 = Path(tmp) / "reader.int8.onnx"
        # Gather too: the word embeddings are most of the file (47 of 58 MB in float).
        quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul", "Gather"],
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        shutil.copy(int8, dest / f"{name}.int8.onnx")
    shutil.copy(model / "tokenizer.json", dest / "tokenizer.json")
    training = json.loads((model / "training.json").read_text()) \
        if (model / "training.json").exists() else {}
    record = {
        "model": f"{name}.int8.onnx", "model_sha256": file_sha256(dest / f"{name}.int8.onnx"),
        "tokenizer": "tokenizer.json", "tokenizer_sha256": file_sha256(dest / "tokenizer.json"),
        "max_length": 192,
        "recipe": "minilm-l6-span-head/squad2-null/matmul+gather-qint8-per-channel",
        "training": training,
    }
    (dest / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    typer.run(main)
