"""The SageMaker forecast backend: real boto3 `invoke_endpoint` against a loopback server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.bedrock_server import FakeAWSServer, Recorded, Reply, error
from vetoflow.config import Settings
from vetoflow.context import Context
from vetoflow.errors import VetoflowError
from vetoflow.forecasting.endpoint import EndpointForecaster
from vetoflow.runs.store import open_service
from vetoflow.runtime import make_context
from vetoflow.scenario import Scenario


def bands_for(request: Recorded) -> Reply:
    """A well-behaved model: each segment grows 2% a period with a +-10% band."""
    body = request.json()
    segments: dict[str, Any] = {}
    for seg in body["segments"]:
        mid = [round(seg["base_revenue"] * 1.02 ** (t + 1), 2) for t in range(body["horizon"])]
        segments[seg["name"]] = {"p10": [m * 0.9 for m in mid], "p50": mid, "p90": [m * 1.1 for m in mid]}
    return Reply(body={"segments": segments, "model": "fake"})


@pytest.fixture
def sagemaker(aws_env: None) -> Iterator[FakeAWSServer]:
    server = FakeAWSServer(default=bands_for).start()
    yield server
    server.stop()


def test_forecast_comes_from_the_endpoint(settings: Settings, sagemaker: FakeAWSServer, profitable: Scenario) -> None:
    forecaster = EndpointForecaster("revenue-model", endpoint_url=sagemaker.url)
    with open_service(settings, Context(forecast=forecaster)) as service:
        view = service.start(profitable)
    assert view.status == "completed"
    request = sagemaker.requests[0]
    assert request.path == "/endpoints/revenue-model/invocations"
    assert request.headers["Content-Type"] == "application/json"
    sent = request.json()
    assert (sent["horizon"], sent["paths"], sent["seed"]) == (12, 5000, 7)
    assert [s["name"] for s in sent["segments"]] == ["SMB", "Enterprise"]
    forecast, financials = view.state.forecast, view.state.financials
    assert forecast is not None
    assert financials is not None
    assert forecast.method == "endpoint"
    assert forecast.segment_methods == {"SMB": "endpoint:revenue-model", "Enterprise": "endpoint:revenue-model"}
    first = 120000 * 1.02 + 200000 * 1.02
    assert forecast.revenue.p50[0] == pytest.approx(first)
    assert forecast.profit.p50[0] == pytest.approx(120000 * 1.02 * 0.35 + 200000 * 1.02 * 0.30)
    assert financials.roi > 0


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(raw=b"<html>oops</html>", content_type="text/html"), "a body that is not JSON"),
        (Reply(body={"bands": {}}), "response.segments: Field required"),
        (Reply(body={"segments": {"SMB": {"p10": [1.0], "p50": [1.0], "p90": [1.0]}}}), "no band for segment"),
        (
            Reply(body={"segments": {n: {"p10": [1.0], "p50": [2.0], "p90": [3.0]} for n in ("SMB", "Enterprise")}}),
            "1 periods for segment SMB; the horizon is 12",
        ),
        (
            Reply(
                body={
                    "segments": {
                        n: {"p10": [3.0] * 12, "p50": [2.0] * 12, "p90": [4.0] * 12} for n in ("SMB", "Enterprise")
                    }
                }
            ),
            "needs p10 <= p50 <= p90",
        ),
        (error(424, "ModelError", "Received server error (500) from primary"), "ModelError: Received server error"),
        (error(400, "ValidationError", "Endpoint revenue-model of account 1 not found."), "not found"),
    ],
)
def test_malformed_or_failed_responses_are_clear_errors(
    sagemaker: FakeAWSServer, profitable: Scenario, reply: Reply, message: str
) -> None:
    sagemaker.default = reply
    with pytest.raises(VetoflowError, match=message) as caught:
        EndpointForecaster("revenue-model", endpoint_url=sagemaker.url)(profitable)
    assert "revenue-model" in str(caught.value)


def test_setting_the_endpoint_switches_the_forecaster(
    sagemaker: FakeAWSServer, profitable: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", sagemaker.url)
    context = make_context(Settings(llm="offline", forecast_endpoint="revenue-model"))
    forecast = context.forecast(profitable)
    assert forecast.method == "endpoint"
    assert json.loads(sagemaker.requests[0].body)["horizon"] == 12
