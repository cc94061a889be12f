"""Domain primitives every layer may use: errors, money, principals and their permissions, quotas, the
transfer rule. Nothing here imports another part of the package: `tests/test_layering.py` holds it so."""
