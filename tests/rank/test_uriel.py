"""URIEL's language distances from the shipped data."""

from __future__ import annotations

import pytest

from sweeper.rank import uriel


def test_uriel_distances_from_the_shipped_data():
    """Geographic distances reproduce URIEL's published values; the proxies order
    languages as typology does (German nearer English than Swahili is)."""
    assert uriel.distances("frr", "dan")["geographic"] == pytest.approx(0.0028, abs=3e-4)
    assert uriel.distances("frr", "deu")["geographic"] == pytest.approx(0.0359, abs=3e-4)
    near, far = uriel.distances("eng", "deu"), uriel.distances("eng", "swh")
    assert all(near[k] < far[k] for k in uriel.KINDS)
    assert not uriel.known("xxx")
