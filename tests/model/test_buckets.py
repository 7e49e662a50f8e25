"""Length buckets: the widths `auto` derives, the setting's reader, and training padded to
buckets giving the numbers of dynamic padding.

Tolerance: with dropout off and fp32 the attention mask makes the extra padding inert, so
losses and outputs differ only by float rounding (matrix products of another width sum
in another order): losses within rel 1e-5, held-out outputs within 1e-4, the same argmax.
"""

from __future__ import annotations

import copy

import pytest
import torch

from model.tiny import features, tiny_without_dropout
from sweeper.errors import ConfigError
from sweeper.model import buckets
from sweeper.model.batching import Columns
from sweeper.model.inference import head_outputs
from sweeper.model.train import TrainArgs, TrainTask, train
from sweeper.trial.environment import load_tokenizer

CPU = torch.device("cpu")


def test_auto_widths_are_quartiles_and_maximum_rounded_up_to_eight():
    lengths = list(range(1, 101))  # quartiles 26, 51, 76; maximum 100
    assert buckets.derive(lengths) == (32, 56, 80, 104)
    assert buckets.derive([12] * 50) == (16,)  # repeats dropped
    assert buckets.derive([]) == ()
    assert buckets.bucket(33, (32, 56, 80)) == 56 and buckets.bucket(8, (32,)) == 32
    assert buckets.bucket(90, (32, 56, 80)) == 96  # longer than every width: its own


def test_the_setting_reads_off_auto_widths_and_the_device_default():
    assert buckets.parse("off") == "off" and buckets.parse("AUTO") == "auto"
    assert buckets.parse("128,64, 250") == (64, 128, 256)
    assert buckets.resolve(None, "cuda") == "auto" and buckets.resolve(None, "cpu") == "off"
    assert buckets.resolve("64", "cpu") == (64,)
    for bad in ("sometimes", "0,64", "64,x"):
        with pytest.raises(ConfigError, match="length_buckets"):
            buckets.parse(bad)


def test_batches_pad_to_their_bucket_and_count_their_tokens():
    import datasets

    ds = datasets.Dataset.from_dict({"input_ids": [[0, 5, 2], [0, 5, 6, 7, 8, 9, 10, 2]],
                                     "label": [1, 0], "length": [3, 8]})
    columns = Columns(ds, ["input_ids", "label"])
    assert columns.batch([0, 1], pad_id=1)["input_ids"].shape == (2, 8)
    padded = columns.batch([0, 1], pad_id=1, widths=(4, 24, 48))
    assert padded["input_ids"].shape == (2, 24) and columns.tokens([0, 1]) == 11
    assert padded["attention_mask"][:, 0, 0, :].sum().item() == 11
    assert buckets.share(48, 11) == pytest.approx(37 / 48)


@pytest.fixture(scope="module")
def tok(catalog, cache_root):
    return load_tokenizer("tiny", catalog, cache_root)


def _setup(catalog, cache_root, tok, task: str):
    spec, ds = features(catalog, cache_root, tok, task)
    outputs = spec.tasktype.num_outputs(spec, list(spec.labels), tok)
    model = tiny_without_dropout(tok, {"t": (spec.tasktype, outputs)})
    return spec, ds.select(range(96)), ds.select(range(96, 160)), model


@pytest.mark.parametrize("task", ["mnli", "panx"])  # a loss per example, and per token
def test_buckets_give_the_numbers_of_dynamic_padding(task, catalog, cache_root, tok):
    spec, train_ds, held_out, start = _setup(catalog, cache_root, tok, task)
    runs = {}
    for asked in ("off", "auto", (72,)):
        model = copy.deepcopy(start)
        args = TrainArgs.of(epochs=2, batch_size=16, lr=3e-3, micro_batch=8, seed=1,
                         log_every=1, length_buckets=asked)
        done = train(model, [TrainTask("t", spec.tasktype, train_ds)], args,
                     pad_id=tok.pad_token_id, device=CPU)
        outputs = torch.cat([o.flatten(0, 1) if o.dim() == 3 else o for _, o in head_outputs(
            model, spec.tasktype, "t", held_out, batch_size=64, pad_id=tok.pad_token_id,
            device=CPU, precision="fp32")])
        runs[asked] = done, [p["loss"] for p in done.history], outputs
    plain, plain_losses, plain_out = runs["off"]
    assert plain.widths == () and runs[(72,)][0].widths == (72,)
    assert len(runs["auto"][0].widths) >= 2
    assert runs[(72,)][0].padding_share > plain.padding_share  # every batch 72 wide
    for asked in ("auto", (72,)):
        done, losses, outputs = runs[asked]
        assert losses == pytest.approx(plain_losses, rel=1e-5, abs=1e-6)
        assert torch.allclose(outputs, plain_out, atol=1e-4)
        assert torch.equal(outputs.argmax(-1), plain_out.argmax(-1))
        assert done.real_tokens == plain.real_tokens  # the same rows, more padding
        assert done.padding_share >= plain.padding_share >= 0.0
        assert done.history[-1]["padding_share"] == pytest.approx(done.padding_share)
