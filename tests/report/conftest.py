"""The report tests' inputs: one simulated sweep (tests/simtables.py) in a sweep's own
columns, random subsets beside chains with one task of known effect, and its analysis
(computed once: the bootstrap takes seconds)."""

from __future__ import annotations

import pandas as pd
import pytest
from simtables import simulate

from sweeper.report.compute import analyse


@pytest.fixture(scope="session")
def sim_table() -> pd.DataFrame:
    subsets = simulate(3, design="subsets", slope=2.0, counts=(1, 2, 4), draws=2)
    chains = simulate(4, design="chains", chains=4, length=3, effects={"t0": 3.0}, seeds=2)
    chains["trial_id"] = "c" + chains["trial_id"]
    table = pd.concat([subsets, chains], ignore_index=True).assign(
        role="trial", comparable=True, data_source="sample", model="tiny", run_name="",
        retrieval_protocol="", arm="")
    first = table["trial_id"].iloc[0]  # one trial trained on a translation: kept apart
    table.loc[table["trial_id"] == first, "protocol"] = "translate_train"
    return table


@pytest.fixture(scope="session")
def sim_analysis(sim_table) -> dict:
    return analyse(sim_table)
