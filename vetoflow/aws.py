"""Where AWS calls go and whether they can be signed, resolved the way users expect."""

from __future__ import annotations

import os

DEFAULT_REGION = "eu-central-1"


def resolve_region() -> str:
    """AWS_REGION (what Lambda and most SDKs set), then AWS_DEFAULT_REGION / the profile, then eu-central-1."""
    import boto3

    return os.environ.get("AWS_REGION") or boto3.session.Session().region_name or DEFAULT_REGION


def has_credentials() -> bool:
    """AWS credentials from env, profile, SSO or container role; the EC2 metadata service is not probed
    (it would add seconds to every command off AWS); on EC2 set VETOFLOW_LLM=bedrock."""
    import botocore.session
    from botocore.exceptions import BotoCoreError

    session = botocore.session.Session()
    resolver = session.get_component("credential_provider")
    resolver.remove("iam-role")
    try:
        return resolver.load_credentials() is not None
    except BotoCoreError:
        return False
