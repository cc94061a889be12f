"""The calendar steps a history or a trend is bucketed by."""

from __future__ import annotations

from typing import Literal

Interval = Literal["month", "week", "day"]
