"""Near-duplicate detection and the quality report job at 100k and 1M texts.

    python benchmarks/bench_quality.py                  # 100k and 1M, naive up to 20k
    python benchmarks/bench_quality.py --sizes 100000 --job-items 100000

Texts are built from ../shared/data (SMS Spam, Rotten Tomatoes snippets, VADER
tweets): each new text joins the start of one real text to the end of another,
and a planted share are near-duplicates of an earlier text (one word replaced or
dropped, case changed) or exact copies, so recall can be measured.

1. labeler.core.near_duplicates (MinHash over character 5-grams, LSH bands, numpy)
   against the bare scikit-learn approach: TfidfVectorizer on character 5-grams and
   cosine similarity of every pair (sparse X @ X.T in row blocks). The bare approach
   is quadratic, so it is timed at --naive-sizes and extrapolated (n²) to the
   larger sizes; the ratio printed at 100k/1M uses that extrapolation.
2. The ``quality`` job on a project of --job-items items imported into SQLite
   (read, field checks, exact duplicates, near-duplicates, class balance).

Prints figures; never asserts a time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from labeler.core.near_duplicates import near_duplicates  # noqa: E402
from labeler.core.quality import normalise  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
NEAR_SHARE, EXACT_SHARE = 0.05, 0.02


def sources() -> list[str]:
    sms = pd.read_csv(DATA / "sms-spam.csv")["text"]
    reviews = pd.read_csv(DATA / "rotten_tomatoes_corpus.csv.bz2")["text"]
    tweets = pd.read_csv(
        DATA / "vader_tweets_text.tsv", sep="\t", header=None, quoting=3, on_bad_lines="skip"
    )[2]
    texts = pd.concat([sms, reviews, tweets]).dropna().astype(str)
    return [t for t in dict.fromkeys(texts) if len(t.split()) >= 6]


def build(n: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """``n`` texts and, for each, the position it was copied from (-1: an original)."""
    rng = np.random.default_rng(seed)
    pool = [t.split() for t in sources()]
    texts: list[str] = []
    origin = np.full(n, -1, dtype=np.int64)
    kinds = rng.random(n)
    for i in range(n):
        if i > 100 and kinds[i] < NEAR_SHARE + EXACT_SHARE:
            j = int(rng.integers(0, i))
            words = texts[j].split()
            if kinds[i] < NEAR_SHARE and len(words) > 12:
                k = int(rng.integers(0, len(words)))
                words[k] = "REPLACED" if rng.random() < 0.5 else ""
            texts.append(
                " ".join(w for w in words if w).upper()
                if kinds[i] < 0.01
                else " ".join(w for w in words if w)
            )
            origin[i] = j
            continue
        a, b = pool[int(rng.integers(0, len(pool)))], pool[int(rng.integers(0, len(pool)))]
        texts.append(" ".join(a[: max(3, len(a) // 2)] + b[len(b) // 2 :]) + f" #{i}")
    return texts, origin


def naive_pairs(texts: list[str], threshold: float, block: int = 2000) -> int:
    """Bare scikit-learn: TF-IDF on character 5-grams, cosine of every pair."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    matrix = TfidfVectorizer(analyzer="char", ngram_range=(5, 5)).fit_transform(texts)
    found = 0
    for start in range(0, matrix.shape[0], block):
        similarity = (matrix[start : start + block] @ matrix.T).tocoo()
        keep = (similarity.data >= threshold) & (similarity.row + start < similarity.col)
        found += int(keep.sum())
    return found


def ours(texts: list[str], threshold: float):
    return near_duplicates(list(dict.fromkeys(normalise(t) for t in texts)), threshold)


def _shingles(text: str) -> set[bytes]:
    data = text.encode()
    return {data[i : i + 5] for i in range(max(1, len(data) - 4))}


def recall(texts: list[str], origin: np.ndarray, threshold: float) -> tuple[float, int]:
    """Share of planted copies whose true Jaccard similarity reaches ``threshold`` that
    are found in the same group as the text they copy (and how many there are)."""
    normalised = [normalise(t) for t in texts]
    distinct = list(dict.fromkeys(normalised))
    position = {t: i for i, t in enumerate(distinct)}
    found = near_duplicates(distinct, threshold)
    same = []
    for i in np.flatnonzero(origin >= 0):
        a, b = _shingles(normalised[i]), _shingles(normalised[origin[i]])
        if len(a & b) / len(a | b) >= threshold:
            same.append(
                found.group[position[normalised[i]]] == found.group[position[normalised[origin[i]]]]
            )
    return float(np.mean(same)), len(same)


def time_it(function, *args) -> tuple[float, object]:
    started = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - started, result


def bench_near(sizes: list[int], naive_sizes: list[int], threshold: float) -> None:
    naive: dict[int, float] = {}
    for n in naive_sizes:
        texts, _ = build(n)
        naive[n], pairs = time_it(naive_pairs, texts, 0.9)
        ours_s, found = time_it(ours, texts, threshold)
        print(
            f"{n:>9,} texts  naive TF-IDF cosine {naive[n]:7.1f} s ({pairs:,} pairs >= 0.9)"
            f"   labeler {ours_s:6.2f} s ({len(found.pairs):,} pairs)"
            f"   ratio {naive[n] / ours_s:6.1f}x"
        )
    largest = max(naive) if naive else None
    for n in sizes:
        texts, origin = build(n)
        seconds, found = time_it(ours, texts, threshold)
        hit, n_true = recall(texts, origin, threshold) if n <= 200_000 else (float("nan"), 0)
        line = (
            f"{n:>9,} texts  labeler near-duplicates {seconds:6.1f} s, "
            f"{len(found.clusters()):,} groups"
        )
        if hit == hit:
            line += f", recall {hit:.1%} of {n_true:,} planted copies with Jaccard >= {threshold}"
        if largest:
            estimate = naive[largest] * (n / largest) ** 2
            line += (
                f"; naive (n² from {largest:,}) ≈ {estimate:,.0f} s, ratio ≈ "
                f"{estimate / seconds:,.0f}x"
            )
        print(line)


def bench_job(n: int) -> None:
    from benchmarks._common import fresh_app, peak_rss_mb
    from labeler import jobs
    from labeler.extensions import db
    from labeler.models import Job
    from labeler.services.data.import_spec import ColumnMapping
    from labeler.services.data.imports import import_frame
    from labeler.services.projects.store import create_project

    texts, _ = build(n)
    frame = pd.DataFrame(
        {
            "id": [f"t{i}" for i in range(n)],
            "text": texts,
            "length": [str(len(t)) if i % 997 else "n/a" for i, t in enumerate(texts)],
        }
    )
    app, _ = fresh_app()
    with app.app_context():
        project = create_project("Bench", [{"name": "a"}, {"name": "b"}])
        started = time.perf_counter()
        import_frame(
            project,
            frame,
            ColumnMapping(id="id", text=("text",), categorical=("length",)),
            chunk_rows=20_000,
        )
        db.session.commit()
        imported = time.perf_counter() - started
        started = time.perf_counter()
        job = jobs.start("quality", project.id)
        seconds = time.perf_counter() - started
        job = db.session.get(Job, job.id)
        result = job.result
        print(
            f"quality job on {n:,} items: {seconds:.1f} s (import took {imported:.0f} s); "
            f"status {job.status}; {result['exact_duplicates']['copies']:,} exact copies, "
            f"{result['near_duplicates']['groups']:,} near-duplicate groups, "
            f"{result['fields']['length']['unparseable']:,} unparseable numbers; "
            f"peak RSS {peak_rss_mb():,.0f} MB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--naive-sizes", type=int, nargs="*", default=[10_000, 20_000])
    parser.add_argument("--job-items", type=int, default=1_000_000)
    parser.add_argument("--threshold", type=float, default=0.8)
    args = parser.parse_args()
    bench_near(args.sizes, args.naive_sizes, args.threshold)
    if args.job_items:
        bench_job(args.job_items)


if __name__ == "__main__":
    main()
