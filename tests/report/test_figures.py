"""The report's figures from a simulated sweep: a scaling panel per tier, the language x
count heat map, the chains' task values; none where there is nothing to draw."""

from __future__ import annotations

from PIL import Image

from sweeper.report.figures import plot


def test_each_figure_is_drawn_at_its_size(sim_analysis, sim_table, tmp_path):
    paths = plot(sim_analysis, sim_table, tmp_path)
    assert [p.name for p in paths] == ["scaling_xnli.png", "heatmap_xnli.png",
                                       "task_values_xnli.png"]
    sizes = {p.name: Image.open(p).size for p in paths}
    assert sizes["scaling_xnli.png"] == (int(4.2 * 4 * 110), int(3.6 * 110))  # 4 tiers
    languages, counts = 5, 4  # simtables' languages; k = 1, 2, 3 (chains) and 4
    assert sizes["heatmap_xnli.png"] == (int((1.2 + 0.7 * counts) * 110),
                                         int((1.2 + 0.28 * languages) * 110))
    values = len(sim_analysis["targets"]["xnli"]["chains"]["all"]["values"])
    assert sizes["task_values_xnli.png"] == (5 * 110, int((0.9 + 0.3 * values) * 110))


def test_nothing_to_draw_draws_nothing(sim_table, tmp_path):
    empty = {"targets": {"xnli": {"curves": {}, "chains": {}}}}
    assert plot(empty, sim_table.assign(protocol="translate_train"), tmp_path) == []
    assert plot(empty, sim_table.assign(gain=None), tmp_path) == []
    assert list(tmp_path.iterdir()) == []
