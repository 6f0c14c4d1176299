"""What the atheris harnesses in this folder share: a corpus and a crash folder under
``data/fuzz/<target>/`` (ignored by git), seed inputs, and libFuzzer's own options."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parents[2]


def run(target: str, test_one_input: Callable[[bytes], None], seeds: Iterable[bytes]) -> None:
    """Fuzz ``test_one_input``; extra command-line arguments go to libFuzzer as they are
    (``-max_total_time=300``, ``-runs=100000``, ``-jobs=4`` …)."""
    base = ROOT / "data" / "fuzz" / target
    corpus, crashes = base / "corpus", base / "crashes"
    corpus.mkdir(parents=True, exist_ok=True)
    crashes.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        (corpus / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
    words = Path(__file__).with_name(f"{target.split('_')[0]}.dict")
    argv = [
        sys.argv[0],
        *sys.argv[1:],
        *([f"-dict={words}"] if words.exists() else []),
        "-print_final_stats=1",
        f"-artifact_prefix={crashes}/",
        str(corpus),
    ]
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()
