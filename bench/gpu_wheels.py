"""The wheels `bench/gpu_trial.py` needs on the lent GPU machine, fetched here into `.whl/`
(ignored by git) to travel with the tree.

A trial imports (besides torch and transformers) datasets, pyarrow, pandas, pydantic,
tokenizers, ... The machine's image (Python 3.12) holds most of them, pyarrow and pandas
included, but not datasets (nor its dill and multiprocess) or pydantic (nor its
pydantic-core, annotated-types and typing-inspection): CARRIED lists those, each at the
version this checkout's environment runs, as cp312 manylinux wheels without their
dependencies (about 4 MB in all: the 64 MiB that travels is not a limit). It prints the
wheels, their size, and how to install them there:

    python bench/gpu_wheels.py                       # here (needs the package index)
    pip install --no-index --no-deps --target /tmp/site .whl/*.whl   # there
    PYTHONPATH=/tmp/site python3 bench/gpu_trial.py --out $OUT
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CARRIED = ("datasets", "dill", "multiprocess", "pydantic", "pydantic-core",
           "annotated-types", "typing-inspection")
PYTHON = "3.12"  # the image's (the device README's KINDS.md)
PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64")
LIMIT_MB = 64


def pins() -> list[str]:
    """Each carried distribution at the version installed here."""
    return [f"{name}=={version(name)}" for name in CARRIED]


def fetch(dest: Path) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
               "--only-binary=:all:", "--python-version", PYTHON, "--dest", str(dest)]
    for platform in PLATFORMS:
        command += ["--platform", platform]
    subprocess.run(command + pins(), check=True)
    wanted = {name.replace("-", "_").lower() for name in CARRIED}
    return sorted(p for p in dest.glob("*.whl") if p.name.split("-")[0].lower() in wanted)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dest", default=str(ROOT / ".whl"), help="where the wheels go")
    args = p.parse_args(argv)
    try:
        wheels = fetch(Path(args.dest))
    except subprocess.CalledProcessError:
        print("gpu_wheels: pip could not download the wheels (is the package index "
              "reachable?)", file=sys.stderr)
        return 2
    total = sum(w.stat().st_size for w in wheels) / 2**20
    for wheel in wheels:
        print(f"{wheel.stat().st_size / 2**20:7.2f} MB  {wheel.name}")
    print(f"{total:7.2f} MB in all (at most {LIMIT_MB} MiB travels); carry '.whl', then: "
          "pip install --no-index --no-deps --target /tmp/site .whl/*.whl")
    return 0 if total < LIMIT_MB else 1


if __name__ == "__main__":
    sys.exit(main())
