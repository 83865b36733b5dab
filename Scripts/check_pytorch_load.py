#!/usr/bin/env python3
"""Checks that a model directory written by `kobert-emotion train` loads in PyTorch transformers
(`BertForSequenceClassification.from_pretrained`) and predicts what the Swift tool predicts.

Run by hand in a virtualenv with torch and transformers:

    kobert-emotion tokenize --model DIR --json < sentences.txt > tokens.jsonl
    kobert-emotion predict  --model DIR --json < sentences.txt > predictions.jsonl
    python Scripts/check_pytorch_load.py DIR tokens.jsonl predictions.jsonl

Token ids come from the Swift tokenizer (the tokenizer has its own golden tests against the Python
libraries); this script checks the model: every weight loaded from the file (none missing, unexpected
or mismatched), same label for every sentence, probabilities within 1e-4.
"""
import json
import sys

import torch
from transformers import BertForSequenceClassification


def main(model_dir, tokens_path, predictions_path):
    model, info = BertForSequenceClassification.from_pretrained(model_dir, output_loading_info=True)
    model.eval()
    # Every weight must come from the file: a key transformers had to initialize itself (e.g. a
    # classifier head saved under another name, as a model fine-tuned from a plain BertModel
    # checkpoint could be) or one it ignored would make the comparison below meaningless.
    problems = {k: v for k, v in info.items() if v}
    if problems:
        print(f"{model_dir}: not a complete BertForSequenceClassification: {problems}")
        return 1
    tokens = [json.loads(line) for line in open(tokens_path, encoding="utf-8")]
    preds = [json.loads(line) for line in open(predictions_path, encoding="utf-8")]
    assert len(tokens) == len(preds), f"{len(tokens)} tokenized sentences but {len(preds)} predictions"
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    worst, disagreements = 0.0, 0
    for tok, pred in zip(tokens, preds):
        ids = torch.tensor([tok["ids"]])
        with torch.no_grad():
            probs = model(input_ids=ids, token_type_ids=torch.zeros_like(ids),
                          attention_mask=torch.ones_like(ids)).logits.softmax(-1)[0]
        ours = torch.tensor([pred["probabilities"][l] for l in labels])
        worst = max(worst, float((probs - ours).abs().max()))
        if labels[int(probs.argmax())] != pred["label"]:
            disagreements += 1
    print(f"{len(preds)} sentences: {disagreements} label disagreements, "
          f"max |p_torch - p_swift| = {worst:.2e}")
    return 0 if disagreements == 0 and worst <= 1e-4 else 1


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
