"""Claude on Amazon Bedrock through langchain-aws `ChatBedrockConverse`.

Throttling and 5xx are retried by botocore's own retry mode (adaptive by default), then surface as
TransientLLMError so the Synthesizer's LangGraph RetryPolicy tries again; after that the run is failed
and `vetoflow retry` resumes it. Configuration errors (model access, region, IAM) become one
actionable VetoflowError naming the region, the model id and what to do.
"""

from __future__ import annotations

from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionError, NoCredentialsError, ReadTimeoutError
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from vetoflow.aws import resolve_region
from vetoflow.config import Settings
from vetoflow.errors import TransientLLMError, VetoflowError
from vetoflow.llm.pricing import estimate_cost
from vetoflow.llm.prompt import build_messages
from vetoflow.state import RunState, Summary

# Claude Sonnet 4.5: current, strong at faithful summarisation with citations, and offered through
# geo inference profiles (eu./us./apac.) in every commercial region, unlike on-demand bare ids.
DEFAULT_BASE_MODEL = "anthropic.claude-sonnet-4-5-20250929-v1:0"
TRANSIENT_CODES = {
    "ThrottlingException",
    "TooManyRequestsException",
    "ServiceUnavailableException",
    "InternalServerException",
    "ModelTimeoutException",
    "ModelNotReadyException",
    "ServiceQuotaExceededException",
}


def geo_prefix(region: str) -> str:
    """The cross-region inference profile prefix for a region: eu-west-1 -> eu., us-east-1 -> us., ..."""
    if region.startswith("eu-"):
        return "eu."
    if region.startswith("us-gov-"):
        return "us-gov."
    if region.startswith("us-"):
        return "us."
    if region.startswith("ap-"):
        return "apac."
    return "global."


def resolve_model_id(setting: str | None, region: str) -> str:
    return setting or geo_prefix(region) + DEFAULT_BASE_MODEL


def explain_client_error(error: ClientError, model_id: str, region: str) -> Exception:
    """Map a Bedrock error to what the user can do about it (or to a retryable error)."""
    code = error.response.get("Error", {}).get("Code", "")
    message = error.response.get("Error", {}).get("Message", "") or str(error)
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    where = f"model {model_id} in region {region}"
    if code in TRANSIENT_CODES or status == 429 or status >= 500:
        return TransientLLMError(f"Bedrock {code or status} for {where} (after botocore retries): {message}")
    if code == "ValidationException":
        hint = (
            "check that model access is granted for this model in this region (Bedrock console > Model access) "
            "and that the id is right (VETOFLOW_BEDROCK_MODEL, AWS_REGION)"
        )
        if "on-demand throughput" in message or "inference profile" in message:
            base = model_id.split(".", 1)[1] if model_id.startswith(("eu.", "us.", "apac.", "global.")) else model_id
            hint = (
                "this model is only served through a cross-region inference profile: set "
                f"VETOFLOW_BEDROCK_MODEL={geo_prefix(region)}{base}"
            )
        return VetoflowError(f"Bedrock refused {where}: {message}. What to do: {hint}; then `vetoflow retry RUN_ID`.")
    if code == "AccessDeniedException":
        return VetoflowError(
            f"Bedrock denied access to {where}: {message}. What to do: grant the caller IAM permission "
            f"bedrock:InvokeModel on arn:aws:bedrock:{region}::foundation-model/* and "
            f"arn:aws:bedrock:*:*:inference-profile/* (and enable model access); then `vetoflow retry RUN_ID`."
        )
    if code in ("UnrecognizedClientException", "ExpiredTokenException", "InvalidSignatureException"):
        return VetoflowError(f"AWS rejected the credentials for {where}: {message}. Refresh them, then retry.")
    if code == "ResourceNotFoundException":
        return VetoflowError(f"Bedrock has no {where}: {message}. Check VETOFLOW_BEDROCK_MODEL and AWS_REGION.")
    return VetoflowError(f"Bedrock error {code or status} for {where}: {message}")


class BedrockSynthesizer:
    """A SummaryClient backed by Claude on Bedrock."""

    name = "bedrock"

    def __init__(
        self,
        settings: Settings,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        from langchain_aws import ChatBedrockConverse

        self.region = region or resolve_region()
        self.model_id = resolve_model_id(settings.bedrock_model, self.region)
        self.prices = settings.bedrock_prices
        config = Config(
            retries={"mode": settings.bedrock_retry_mode, "total_max_attempts": settings.bedrock_max_attempts},
            connect_timeout=min(10.0, settings.bedrock_timeout),
            read_timeout=settings.bedrock_timeout,
        )
        self.chat = ChatBedrockConverse(
            model_id=self.model_id,
            region_name=self.region,
            endpoint_url=endpoint_url,
            config=config,
            temperature=0.2,
            max_tokens=settings.bedrock_max_tokens,
        )

    def summarize(self, state: RunState) -> Summary:
        system, user = build_messages(state)
        try:
            reply = self.chat.invoke([SystemMessage(system), HumanMessage(user)])
        except ClientError as exc:
            raise explain_client_error(exc, self.model_id, self.region) from None
        except (ReadTimeoutError, ConnectionError) as exc:  # after botocore's own retries
            raise TransientLLMError(f"Bedrock {self.model_id} in {self.region}: {exc}") from None
        except NoCredentialsError:
            raise VetoflowError("no AWS credentials for Bedrock; configure them or set VETOFLOW_LLM=offline") from None
        assert isinstance(reply, AIMessage)
        usage: dict[str, int] = {}
        if reply.usage_metadata:
            usage = {k: int(v) for k, v in reply.usage_metadata.items() if isinstance(v, int)}
        return Summary(
            text=str(reply.text).strip(),
            model=self.model_id,
            offline=False,
            usage=usage,
            cost_usd=estimate_cost(self.model_id, usage, self.prices),
            region=self.region,
        )
