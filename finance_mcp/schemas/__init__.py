"""Wire schemas: what services accept and return, and what tools publish as input and output schemas.

A module per domain, named like its `services/` and `repositories/` twins; `common` holds what they share.
"""
