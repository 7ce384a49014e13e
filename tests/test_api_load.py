"""The API over its limit: a real server allowed few requests in hand at once, sent many
times that many together. The ones over the limit get 503 with Retry-After and are
recorded nowhere; sent again after the pause, every one is answered once, and the
server stays up. (The long version at twice the benchmark rate is `make soak`.)"""

from __future__ import annotations

import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.test_api import EDI278, REQUESTS, X12, _free_port, _key, reference_in

ROOT = Path(__file__).parents[1]
MAX_INFLIGHT = 3
REQUESTS_SENT = 150
SENDERS = 24


def distinct_request(number: int) -> bytes:
    """The MRI sample as a request of its own: its own ISA13, group, BHT03 and trace."""
    data = (REQUESTS / "08-mri-lumbar-auto.x12").read_bytes()
    control = b"%09d" % (700_000_000 + number)
    data = data[:90] + control + data[99:]
    data = data.replace(b"*000000208~", b"*" + control + b"~")
    data = data.replace(b"S08REQ20261120", b"LOAD%010d" % number)
    return data.replace(b"TRN*1*", b"TRN*1*L%d" % number, 1)


@pytest.fixture(scope="module")
def busy_api(tmp_path_factory):
    state = ["--state-dir", str(tmp_path_factory.mktemp("var"))]
    subprocess.run([str(EDI278), "reference", "load", str(ROOT / "samples" / "reference"),
                    *state], check=True, capture_output=True)  # fmt: skip
    key = _key(state, "SUBMITTER01")
    port = _free_port()
    server = subprocess.Popen(
        [str(EDI278), "serve", "--port", str(port), "--max-inflight", str(MAX_INFLIGHT), *state],
        stderr=subprocess.DEVNULL,
        env={**os.environ, "EDI278_LOG_LEVEL": "WARNING"},
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert server.poll() is None and time.monotonic() < deadline, "the server did not come up"
        time.sleep(0.2)
    yield base, key, server
    server.terminate()
    server.wait(timeout=15)


def test_over_its_limit_the_api_says_503_retry_after_and_loses_nothing(busy_api):
    base, key, server = busy_api
    headers = {**X12, "X-API-Key": key}
    shed: list[httpx.Response] = []

    def send(number: int) -> str:
        data = distinct_request(number)
        with httpx.Client(base_url=base, timeout=60) as client:
            while True:
                answer = client.post("/v1/x12/278", content=data, headers=headers)
                if answer.status_code != 503:
                    assert answer.status_code == 200, answer.text
                    return reference_in(answer.text)
                shed.append(answer)
                time.sleep(float(answer.headers["Retry-After"]) / 10)  # impatient, on purpose

    with ThreadPoolExecutor(SENDERS) as pool:
        references = list(pool.map(send, range(REQUESTS_SENT)))

    assert shed, "the limit was never reached: the test proves nothing"
    for answer in shed:
        assert answer.headers["Retry-After"] == "1"
        assert answer.json()["code"] == "busy"
    assert len(set(references)) == REQUESTS_SENT  # one case each: none lost, none twice
    assert server.poll() is None
    metrics = httpx.get(f"{base}/metrics").text
    assert 'status="503"' in metrics
