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
