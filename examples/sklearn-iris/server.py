"""A small Open Inference Protocol (v2) REST server for one saved scikit-learn model.

It is the kind of server many users write: it loads the model and answers
OIP v2 health, metadata and infer calls, and knows nothing of the lab's
contract (no version header, no metrics, no payload log). model-agent, in
front of it in the same pod, adds those.

    MODEL_PATH=models/v1/model.joblib MODEL_NAME=iris \
        python3 -m uvicorn server:app --host 127.0.0.1 --port 8081
"""

import os
from typing import Any, List, Optional

import joblib
import numpy as np
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel

MODEL_NAME = os.environ.get("MODEL_NAME", "iris")
MODEL_PATH = os.environ.get("MODEL_PATH", "/models/model.joblib")
FEATURES = 4  # iris: sepal length, sepal width, petal length, petal width

model = joblib.load(MODEL_PATH)
app = FastAPI(title=f"{MODEL_NAME} (scikit-learn, OIP v2)")


class InferInput(BaseModel):
    name: str
    shape: List[int]
    datatype: str
    data: Any
    parameters: Optional[dict] = None


class InferRequest(BaseModel):
    id: Optional[str] = None
    inputs: List[InferInput]
    parameters: Optional[dict] = None


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": message})


@app.get("/v2/health/live")
def live() -> dict:
    return {"live": True}


@app.get("/v2/health/ready")
def ready() -> dict:
    return {"ready": True}


@app.get("/v2/models/{name}")
def metadata(name: str):
    if name != MODEL_NAME:
        return error(404, f"model {name!r} not found; this server serves {MODEL_NAME!r}")
    return {
        "name": MODEL_NAME,
        "versions": [],
        "platform": "scikit-learn",
        "inputs": [{"name": "input-0", "datatype": "FP64", "shape": [-1, FEATURES]}],
        "outputs": [{"name": "predict", "datatype": "INT64", "shape": [-1]}],
    }


@app.get("/v2/models/{name}/ready")
def model_ready(name: str):
    if name != MODEL_NAME:
        return error(404, f"model {name!r} not found; this server serves {MODEL_NAME!r}")
    return {"name": MODEL_NAME, "ready": True}


@app.post("/v2/models/{name}/infer")
def infer(name: str, request: InferRequest):
    if name != MODEL_NAME:
        return error(404, f"model {name!r} not found; this server serves {MODEL_NAME!r}")
    if len(request.inputs) != 1:
        return error(400, f"want exactly 1 input tensor of shape [n, {FEATURES}], got {len(request.inputs)}")
    tensor = request.inputs[0]
    try:
        rows = np.asarray(tensor.data, dtype=np.float64).reshape(tensor.shape)
    except (TypeError, ValueError) as exc:
        return error(400, f"input {tensor.name!r}: data does not fit shape {tensor.shape}: {exc}")
    if rows.ndim != 2 or rows.shape[1] != FEATURES:
        return error(400, f"input {tensor.name!r}: want shape [n, {FEATURES}], got {list(rows.shape)}")
    predictions = model.predict(rows)
    body = {
        "model_name": MODEL_NAME,
        "outputs": [
            {
                "name": "predict",
                "shape": [int(predictions.shape[0])],
                "datatype": "INT64",
                "data": [int(p) for p in predictions],
            }
        ],
    }
    if request.id is not None:
        body["id"] = request.id
    return body
