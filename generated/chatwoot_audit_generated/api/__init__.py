# Do not edit: written by `python scripts/regenerate.py` from openapi/ (see generated/README.md).
"""Contains methods for accessing the API"""
