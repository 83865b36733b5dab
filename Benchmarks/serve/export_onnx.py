"""Exports the KoBERT-shaped model directory `kobert-bench --case save-model` writes to ONNX, the same
weights the Swift server loads (as Benchmarks/baseline.py's export-onnx, which uses its own random model).

    python export_onnx.py MODEL_DIR OUT.onnx
"""
import sys

import torch
from transformers import BertForSequenceClassification

model = BertForSequenceClassification.from_pretrained(sys.argv[1]).eval()
model.config.return_dict = False
ids = torch.tensor([[2, 10, 20, 30, 40, 50, 60, 3], [2, 11, 21, 3, 0, 0, 0, 0]])
mask = (ids != 0).long()
axes = {0: "batch", 1: "length"}
torch.onnx.export(model, (ids, mask, torch.zeros_like(ids)), sys.argv[2],
                  input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["logits"],
                  dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes, "logits": {0: "batch"}},
                  opset_version=17, dynamo=False)
print(f"exported {sys.argv[1]} to {sys.argv[2]} (torch {torch.__version__})")
