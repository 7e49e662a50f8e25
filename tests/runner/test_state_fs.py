"""The file system Tune writes a sweep's storage through records each restore file on the
parent run before it lands, whole, and passes everything else straight through."""

from __future__ import annotations

import json
import pickle

import pyarrow.fs as pafs
import pytest

from sweeper import tracking
from sweeper.runner import trust
from sweeper.runner.state_fs import Record, flush, recording_fs
from sweeper.tracking.memory import MemoryStore


def _fs(tmp_path, tracker=None):
    tracker = tracker or tracking.Tracker(MemoryStore(), "sweep")
    parent = tracker.start("sweep", "s:sweep", {})
    record = Record("unused://", "sweep", parent, tracker=tracker)
    folder = tmp_path / "runs" / "s"
    folder.mkdir(parents=True)
    return recording_fs(pafs.LocalFileSystem(), str(folder), record), folder, tracker, parent


def test_a_restore_file_is_recorded_before_it_lands_and_resume_trusts_it(tmp_path):
    fs, folder, tracker, parent = _fs(tmp_path)
    for version in (b"one", b"two", b"three"):
        with fs.open_output_stream(f"{folder}/tuner.pkl") as out:
            out.write(version)
        assert flush(30)
        assert (folder / "tuner.pkl").read_bytes() == version
        trust.check(str(folder), tracker.run(parent).tags, trust=False)
    record = json.loads(tracker.run(parent).tags[trust.HASHES_TAG])
    assert len(record["tuner.pkl"]) == 2  # the newest two versions
    assert not list(folder.glob("*.partial"))  # written beside, then renamed
    (folder / "tuner.pkl").write_bytes(b"swapped")
    with pytest.raises(Exception, match="tuner.pkl differ"):
        trust.check(str(folder), tracker.run(parent).tags, trust=False)


def test_tune_s_copy_of_its_staging_folder_is_recorded_file_by_file(tmp_path):
    """Tune copies its staging folder with pyarrow's copy_files: what lands is recorded,
    whatever the staging folder holds by then."""
    fs, folder, tracker, parent = _fs(tmp_path)
    staging = tmp_path / "staging"
    (staging / "sub").mkdir(parents=True)
    (staging / "experiment_state-x.json").write_text('{"trials": 1}')
    (staging / "search_gen_state-x.json").write_text("{}")
    (staging / "sub" / "tuner.pkl").write_bytes(b"not at the top: not restored from")
    pafs.copy_files(str(staging), str(folder), destination_filesystem=fs)
    assert flush(30)
    record = json.loads(tracker.run(parent).tags[trust.HASHES_TAG])
    assert sorted(record) == ["experiment_state-x.json", "search_gen_state-x.json"]
    assert (folder / "sub" / "tuner.pkl").read_bytes().startswith(b"not at the top")
    trust.check(str(folder), tracker.run(parent).tags, trust=False)


def test_a_restore_file_the_record_cannot_take_is_not_written(tmp_path, capsys):
    """The tracking server down: the file is not copied (the storage keeps the version
    before, which the record holds), and it says so; Tune's next copy tries again."""
    fs, folder, tracker, parent = _fs(tmp_path)
    with fs.open_output_stream(f"{folder}/tuner.pkl") as out:
        out.write(b"one")
    assert flush(30)
    set_tags = tracker.set_tags

    def down(*args, **kwargs):
        raise ConnectionError("tracking server unreachable")

    tracker.set_tags = down
    with fs.open_output_stream(f"{folder}/tuner.pkl") as out:
        out.write(b"two")
    assert flush(30)
    assert (folder / "tuner.pkl").read_bytes() == b"one"
    assert "tuner.pkl not copied to the storage yet: tracking server unreachable" in \
        capsys.readouterr().out
    tracker.set_tags = set_tags
    with fs.open_output_stream(f"{folder}/tuner.pkl") as out:  # the next copy
        out.write(b"two")
    assert flush(30) and (folder / "tuner.pkl").read_bytes() == b"two"
    with fs.open_output_stream(f"{folder}/summary.json") as out:  # not restored from
        out.write(b"{}")
    assert (folder / "summary.json").read_bytes() == b"{}"


def test_the_file_system_travels_to_workers_without_the_record_s_state(tmp_path):
    fs, folder, tracker, parent = _fs(tmp_path)
    with fs.open_output_stream(f"{folder}/tuner.pkl") as out:
        out.write(b"one")
    assert flush(30)
    copy = pickle.loads(pickle.dumps(fs))
    handler = copy.handler
    assert handler.folder == str(folder) and handler.record.parent_run_id == parent
    assert handler.record.tracker is None
    copy.create_dir(f"{folder}/trial_1")
    with copy.open_output_stream(f"{folder}/trial_1/result.json") as out:  # a worker's
        out.write(b"{}")
    assert copy.get_file_info(f"{folder}/trial_1/result.json").size == 2
    assert copy.type_name == "py::recorded+local"


def test_restore_files_copied_at_once_all_reach_the_record(tmp_path):
    """pyarrow copies a folder's files on several threads: every one is recorded (an
    addition that read the record before another wrote it must not drop that one)."""
    import threading
    import time

    fs, folder, tracker, parent = _fs(tmp_path)
    names = [f"experiment_state-{i}.json" for i in range(8)]
    read = tracker.run
    tracker.run = lambda run_id: (r := read(run_id), time.sleep(0.02), r)[2]  # a server's latency

    def write(name):
        with fs.open_output_stream(f"{folder}/{name}") as out:
            out.write(name.encode())

    threads = [threading.Thread(target=write, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert flush(30)
    assert sorted(json.loads(tracker.run(parent).tags[trust.HASHES_TAG])) == sorted(names)
    trust.check(str(folder), tracker.run(parent).tags, trust=False)


@pytest.mark.slow  # an S3 server (moto on 127.0.0.1)
def test_many_restore_files_copied_to_an_object_store_at_once_all_land(tmp_path,
                                                                     monkeypatch):
    """Found by the chaos run: after a few resumes Tune's staging folder held more restore
    files than pyarrow has IO threads; each copy held one while waiting its turn at the
    record, the write to S3 needed one too, and the driver hung. The writes now run on a
    thread of their own: the copy returns at once, and every file lands, recorded."""
    import threading
    import time

    from sweeps import kill_tree, serve_s3

    server, env = serve_s3(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    try:
        s3 = pafs.S3FileSystem(endpoint_override=env["AWS_ENDPOINT_URL"], scheme="http",
                               access_key="testing", secret_key="testing", region="us-east-1")
        tracker = tracking.Tracker(MemoryStore(), "sweep")
        parent = tracker.start("sweep", "s:sweep", {})
        read = tracker.run
        tracker.run = lambda run_id: (r := read(run_id), time.sleep(0.05), r)[2]
        fs = recording_fs(s3, "sweeps/runs/x", Record("unused://", "sweep", parent,
                                                      tracker=tracker))
        staging = tmp_path / "staging"
        staging.mkdir()
        names = [f"experiment_state-{i:03d}.json" for i in range(3 * pafs_io_threads())]
        for name in names:
            (staging / name).write_text(name)
        copy = threading.Thread(target=pafs.copy_files, daemon=True,
                                args=(str(staging), "sweeps/runs/x"),
                                kwargs={"destination_filesystem": fs})
        copy.start()
        copy.join(60)
        assert not copy.is_alive() and flush(120)
        assert sorted(json.loads(tracker.run(parent).tags[trust.HASHES_TAG])) == names
        trust.check("s3://sweeps/runs/x", tracker.run(parent).tags, trust=False)
    finally:
        kill_tree(server)


def pafs_io_threads() -> int:
    import pyarrow as pa

    return pa.io_thread_count()


class _Counting(pafs.FileSystemHandler):
    """A local folder seen as an object store (not a LocalFileSystem), counting the
    writes and folder makings that reach it."""

    def __init__(self, root):
        self.fs, self.calls = pafs.SubTreeFileSystem(str(root), pafs.LocalFileSystem()), []

    def open_output_stream(self, path, metadata):
        self.calls.append(("write", path))
        return self.fs.open_output_stream(path, metadata=metadata)

    def create_dir(self, path, recursive):
        self.calls.append(("mkdir", path))
        self.fs.create_dir(path, recursive=recursive)

    def delete_dir(self, path):
        self.fs.delete_dir(path)

    def get_type_name(self):
        return "counting"

    def normalize_path(self, path):
        return path

    def equals(self, other):
        return other is self

    def get_file_info(self, paths):
        return self.fs.get_file_info(paths)

    def get_file_info_selector(self, selector):
        return self.fs.get_file_info(selector)

    def open_input_stream(self, path):
        return self.fs.open_input_stream(path)

    def open_input_file(self, path):
        return self.fs.open_input_file(path)

    def open_append_stream(self, path, metadata):
        return self.fs.open_append_stream(path, metadata=metadata)

    def delete_dir_contents(self, path, missing_dir_ok=False):
        self.fs.delete_dir_contents(path, missing_dir_ok=missing_dir_ok)

    def delete_root_dir_contents(self):
        self.fs.delete_dir_contents("/", accept_root_dir=True)

    def delete_file(self, path):
        self.fs.delete_file(path)

    def move(self, src, dest):
        self.fs.move(src, dest)

    def copy_file(self, src, dest):
        self.fs.copy_file(src, dest)


def test_on_an_object_store_a_folder_is_made_once_and_a_file_written_when_it_changed(
        tmp_path):
    """Tune copies its whole staging folder at every save and makes each folder before
    each file: on an object store the same bytes are not written again by one process,
    a folder outside the sweep's is made once and one inside it not at all (its files
    make it); a changed file, a checkpoint and a restore file are written each time."""
    tracker = tracking.Tracker(MemoryStore(), "sweep")
    parent = tracker.start("sweep", "s:sweep", {})
    store = _Counting(tmp_path)
    fs = recording_fs(pafs.PyFileSystem(store), "runs/s", Record("unused://", "sweep", parent,
                                                                 tracker=tracker))
    trial = "runs/s/sweeper_trial_1"
    (tmp_path / trial).mkdir(parents=True)  # (on a local stand-in a file needs its folder)
    for text in (b"one", b"one", b"two", b"two", b"one"):
        fs.create_dir(trial, recursive=True)
        with fs.open_output_stream(f"{trial}/result.json") as out:
            out.write(text)
        with fs.open_output_stream(f"{trial}/params.json") as out:
            out.write(b"{}")
        fs.create_dir("runs/other", recursive=True)
    writes = [p for kind, p in store.calls if kind == "write"]
    assert writes.count(f"{trial}/result.json") == 3 and writes.count(f"{trial}/params.json") == 1
    assert (tmp_path / trial / "result.json").read_bytes() == b"one"
    assert [p for kind, p in store.calls if kind == "mkdir"] == ["runs/other"]
    for _ in range(2):  # a checkpoint's files and a restore file go through every time
        (tmp_path / trial / "checkpoint_000000").mkdir(exist_ok=True)
        with fs.open_output_stream(f"{trial}/checkpoint_000000/stages.json") as out:
            out.write(b"x")
        with fs.open_output_stream("runs/s/tuner.pkl") as out:
            out.write(b"t")
        assert flush(30)  # (a version still waiting is replaced by a newer one)
    writes = [p for kind, p in store.calls if kind == "write"]
    assert writes.count(f"{trial}/checkpoint_000000/stages.json") == 2
    assert writes.count("runs/s/tuner.pkl") == 2
    fs.delete_dir("runs/other")  # gone: made again
    fs.create_dir("runs/other", recursive=True)
    assert [p for kind, p in store.calls if kind == "mkdir"] == ["runs/other"] * 2
    fs.delete_dir(trial)  # gone: written again
    (tmp_path / trial).mkdir()
    with fs.open_output_stream(f"{trial}/params.json") as out:
        out.write(b"{}")
    assert (tmp_path / trial / "params.json").read_bytes() == b"{}"
    copy = pickle.loads(pickle.dumps(fs))  # a worker's copy knows nothing of these
    assert not copy.handler.economy.made and not copy.handler.economy.written
    calls = copy.handler.inner.handler.calls
    before = len(calls)
    with copy.open_output_stream(f"{trial}/params.json") as out:
        out.write(b"{}")
    assert calls[before:] == [("write", f"{trial}/params.json")]


def test_on_a_local_disk_every_write_goes_through(tmp_path):
    """Local storage: nothing is remembered, a file rewritten is rewritten."""
    fs, folder, _, _ = _fs(tmp_path)
    for text in ("a", "a"):
        target = folder / "sweeper_trial_1" / "result.json"
        fs.create_dir(str(target.parent), recursive=True)
        with fs.open_output_stream(str(target)) as out:
            out.write(text.encode())
        target.unlink()  # removed behind its back: written again all the same
    with fs.open_output_stream(str(target)) as out:
        out.write(b"a")
    assert target.read_text() == "a"


def _save(staging, results: int, trials: int) -> None:
    """Tune's staging folder after `results` results of `trials` trials."""
    for trial in range(trials):
        folder = staging / f"sweeper_trial_{trial}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "params.json").write_text('{"tasks": "sst2"}')
        (folder / "result.json").write_text("{}\n" * results)
    (staging / "experiment_state-x.json").write_text(str(results))


@pytest.mark.slow  # an S3 server (moto on 127.0.0.1)
def test_a_sweep_s_storage_on_s3_takes_a_third_of_the_requests_and_holds_the_same(
        tmp_path, monkeypatch):
    """Tune's copies of its staging folder, through the sweep's storage file system and
    through pyarrow's own (Tune's default), to S3: the same files arrive; one put a file
    (not a multipart upload's three requests), no file again with the same bytes, no
    folder made again. More trials than pyarrow has IO threads: Tune's copy runs on
    those, and a write that waited on them from one of them hung the driver."""
    import threading

    from ray.train._internal.storage import _upload_to_fs_path
    from sweeps import kill_tree, s3_requests, serve_s3

    from sweeper.storage import SweepFolder

    server, env = serve_s3(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    try:
        tracker = tracking.Tracker(MemoryStore(), "sweep")
        parent = tracker.start("sweep", "s:sweep", {})
        record = Record("unused://", "sweep", parent, tracker=tracker)
        folder = SweepFolder("s3://sweeps/runs", "ours")
        ours = recording_fs(folder.fs, folder.root, record)
        plain, plain_root = pafs.FileSystem.from_uri("s3://sweeps/runs/plain")
        staging, log, used = tmp_path / "staging", tmp_path / "moto.log", {}
        for fs, root in ((plain, plain_root), (ours, folder.root)):
            start = s3_requests(log)
            for results in (1, 3, 3):  # the last save: the trials ended, files as they were
                _save(staging, results, trials=6 * pafs_io_threads())
                copy = threading.Thread(target=_upload_to_fs_path, daemon=True,
                                        args=(str(staging), fs, root))
                copy.start()
                copy.join(60)
                assert not copy.is_alive(), "the copy hung"
            assert flush(60)
            used[root] = s3_requests(log) - start
        for name in ("sweeper_trial_1/result.json", "sweeper_trial_9/params.json",
                     "experiment_state-x.json"):
            assert folder.fs.open_input_stream(f"{plain_root}/{name}").read() == \
                folder.fs.open_input_stream(f"{folder.root}/{name}").read()
        assert used[folder.root] * 3 <= used[plain_root], used
    finally:
        kill_tree(server)
