# Do not edit: written by `python scripts/regenerate.py` from openapi/ (see generated/README.md).
"""A client library for accessing Chatwoot"""

from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)
