"""A remote Forecaster: a SageMaker endpoint called through `sagemaker-runtime` `invoke_endpoint`.

JSON contract (Content-Type and Accept `application/json`):

request  {"horizon": 12, "paths": 5000, "seed": 7,
          "segments": [{"name": "SMB", "base_revenue": 120000.0, "growth_mean": 0.04, "volatility": 0.08,
                        "margin": 0.35, "history": [..] | null}, ...]}
response {"segments": {"SMB": {"p10": [12 floats], "p50": [...], "p90": [...]}, ...}}

One band per requested segment, each list exactly `horizon` long, finite, >= 0 and p10 <= p50 <= p90.
Totals are the sums of the segment bands and profit applies each segment's margin (bands are taken as
comonotonic, which is what a percentile-only contract allows). Anything else is refused by name.
"""

from __future__ import annotations

import json
import math
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from vetoflow.errors import VetoflowError, describe_validation_error
from vetoflow.scenario import Scenario
from vetoflow.state import Band, Forecast

MAX_RESPONSE_BYTES = 10_000_000


class EndpointBand(BaseModel):
    model_config = ConfigDict(extra="ignore")

    p10: list[float]
    p50: list[float]
    p90: list[float]

    @model_validator(mode="after")
    def _ordered(self) -> EndpointBand:
        if not len(self.p10) == len(self.p50) == len(self.p90):
            raise ValueError("p10, p50 and p90 must have the same length")
        for values in (self.p10, self.p50, self.p90):
            if any(not math.isfinite(v) or v < 0 for v in values):
                raise ValueError("values must be finite and >= 0")
        if any(not lo <= mid <= hi for lo, mid, hi in zip(self.p10, self.p50, self.p90, strict=True)):
            raise ValueError("needs p10 <= p50 <= p90 in every period")
        return self


class EndpointResponse(BaseModel):
    model_config = ConfigDict(extra="ignore")

    segments: dict[str, EndpointBand]


def request_body(scenario: Scenario) -> dict[str, Any]:
    return {
        "horizon": scenario.horizon,
        "paths": scenario.paths,
        "seed": scenario.seed,
        "segments": [s.model_dump(mode="json") for s in scenario.segments],
    }


def parse_response(raw: bytes, scenario: Scenario, endpoint: str) -> Forecast:
    where = f"SageMaker endpoint {endpoint} returned"
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise VetoflowError(f"{where} a body that is not JSON: {raw[:120]!r}") from None
    try:
        parsed = EndpointResponse.model_validate(data)
    except ValidationError as exc:
        raise VetoflowError(f"{where} an invalid forecast:\n{describe_validation_error(exc, 'response')}") from None
    names = [s.name for s in scenario.segments]
    missing = [n for n in names if n not in parsed.segments]
    if missing:
        raise VetoflowError(f"{where} no band for segment(s) {', '.join(missing)}; expected {', '.join(names)}")
    for name in names:
        got = len(parsed.segments[name].p50)
        if got != scenario.horizon:
            raise VetoflowError(f"{where} {got} periods for segment {name}; the horizon is {scenario.horizon}")
    bands = {n: parsed.segments[n] for n in names}
    margins = {s.name: s.margin for s in scenario.segments}

    def total(key: str, weight: dict[str, float] | None = None) -> list[float]:
        return [
            round(sum(getattr(bands[n], key)[t] * (weight[n] if weight else 1.0) for n in names), 2)
            for t in range(scenario.horizon)
        ]

    def band(weight: dict[str, float] | None = None) -> Band:
        lo, mid, hi = total("p10", weight), total("p50", weight), total("p90", weight)
        return Band(
            p10=[min(a, b) for a, b in zip(lo, hi, strict=True)],
            p50=mid,
            p90=[max(a, b) for a, b in zip(lo, hi, strict=True)],
        )

    return Forecast(
        method="endpoint",
        periods=scenario.horizon,
        paths=scenario.paths,
        seed=scenario.seed,
        segments={n: Band(p10=bands[n].p10, p50=bands[n].p50, p90=bands[n].p90) for n in names},
        segment_methods={n: f"endpoint:{endpoint}" for n in names},
        revenue=band(),
        profit=band(margins),  # a negative margin swaps the tails, hence min/max above
    )


class EndpointForecaster:
    """Callable like `run_forecast`: Scenario -> Forecast, injected through the graph context."""

    def __init__(
        self, endpoint: str, *, timeout: float = 30.0, region: str | None = None, endpoint_url: str | None = None
    ) -> None:
        import boto3

        from vetoflow.aws import resolve_region

        self.endpoint = endpoint
        config = Config(retries={"mode": "standard", "total_max_attempts": 3}, read_timeout=timeout, connect_timeout=10)
        self.client = boto3.client(
            "sagemaker-runtime", region_name=region or resolve_region(), endpoint_url=endpoint_url, config=config
        )

    def __call__(self, scenario: Scenario) -> Forecast:
        try:
            response = self.client.invoke_endpoint(
                EndpointName=self.endpoint,
                ContentType="application/json",
                Accept="application/json",
                Body=json.dumps(request_body(scenario)).encode(),
            )
            raw = response["Body"].read(MAX_RESPONSE_BYTES + 1)
        except ClientError as exc:
            info = exc.response.get("Error", {})
            raise VetoflowError(
                f"SageMaker endpoint {self.endpoint} failed: {info.get('Code', '?')}: {info.get('Message', exc)}. "
                "Check VETOFLOW_FORECAST_ENDPOINT, AWS_REGION and sagemaker:InvokeEndpoint permission."
            ) from None
        except BotoCoreError as exc:
            raise VetoflowError(f"SageMaker endpoint {self.endpoint} unreachable: {exc}") from None
        if len(raw) > MAX_RESPONSE_BYTES:
            raise VetoflowError(f"SageMaker endpoint {self.endpoint} returned more than {MAX_RESPONSE_BYTES:,} bytes")
        return parse_response(raw, scenario, self.endpoint)
