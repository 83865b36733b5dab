"""The baseline server of the serve benchmark: the same KoBERT-shaped model, exported to ONNX, served by
ONNX Runtime inside a small Starlette (ASGI) app under uvicorn, as such models are commonly deployed:
one request, one session.run (no batching across requests), run in the thread pool as FastAPI runs a
plain `def` endpoint. It answers POST /predict with the same request and answer shapes as
`kobert-emotion serve` (Text Embeddings Inference's), so one load generator drives both.

    ORT_MODEL=model.onnx SPM_MODEL=spiece.model ORT_THREADS=1 uvicorn ort_server:app --workers 2

Benchmark only (not used by the package, its tests or CI). Tokens: [CLS] + SentencePiece ids + [SEP],
at most 64, as Benchmarks/baseline.py's start-up case.
"""
import os

import numpy as np
import onnxruntime as ort
import sentencepiece as spm
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse
from starlette.routing import Route

LABELS = ["fear", "surprise", "angry", "sadness", "neutral", "happiness", "disgust"]
MAX_LEN = 64

options = ort.SessionOptions()
options.intra_op_num_threads = int(os.environ.get("ORT_THREADS", "1"))
options.inter_op_num_threads = 1
options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
session = ort.InferenceSession(os.environ["ORT_MODEL"], options, providers=["CPUExecutionProvider"])
tokenizer = spm.SentencePieceProcessor(model_file=os.environ["SPM_MODEL"])


def classify(texts):
    ids = [[2] + tokenizer.encode(t)[: MAX_LEN - 2] + [3] for t in texts]
    x = np.zeros((len(ids), max(map(len, ids))), dtype=np.int64)
    mask = np.zeros_like(x)
    for i, row in enumerate(ids):
        x[i, : len(row)] = row
        mask[i, : len(row)] = 1
    logits = session.run(["logits"], {"input_ids": x, "attention_mask": mask, "token_type_ids": np.zeros_like(x)})[0]
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    return [sorted(({"label": l, "score": float(s)} for l, s in zip(LABELS, row)), key=lambda d: -d["score"]) for row in p]


async def predict(request):
    try:
        inputs = (await request.json())["inputs"]
        single = isinstance(inputs, str)
        texts = [inputs] if single else [item[0] for item in inputs]
        if not texts or not all(isinstance(t, str) and t for t in texts):
            raise ValueError("empty input")
    except Exception as error:  # noqa: BLE001 - any bad body is a 400, as the Swift server answers
        return JSONResponse({"error": str(error), "error_type": "Validation"}, status_code=400)
    answers = await run_in_threadpool(classify, texts)
    return JSONResponse(answers[0] if single else answers)


async def health(request):
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/predict", predict, methods=["POST"]), Route("/health", health)])
