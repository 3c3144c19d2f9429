"""The discrimination protocol in scikit-learn, timed beside gmmn-discriminate (bench/evaluate.sh).

Same data and the same protocol as `gmmn-discriminate --splits N`: real (VCF + panel) against
synthetic (VCF + panel), as many of each per group, pooled, real 0 / synthetic 1, N random 67/33
splits; LogisticRegression(); KNN with GridSearchCV(cv=5, scoring="balanced_accuracy") over
n_neighbors {2,4,10} x weights {uniform, distance} x p {1,2}; MLPClassifier with early stopping
on 10% (patience 20, as gmmn-discriminate). Dense uint8 -> float64 inputs, as scikit-learn needs.
Prints one Markdown line per classifier: accuracy and seconds.
"""
import argparse
import gzip
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier


def read_vcf(path, panel, column):
    groups = {}
    with open(panel) as f:
        header = f.readline().rstrip("\n").split("\t")
        col = header.index(column) if column in header else header.index("group")
        for line in f:
            fields = line.rstrip("\n").split("\t")
            groups[fields[0]] = fields[col]
    rows, samples = [], None
    with gzip.open(path, "rt") as f:
        for line in f:
            if line.startswith("##"):
                continue
            fields = line.rstrip("\n").split("\t")
            if line.startswith("#"):
                samples = fields[9:]
                continue
            gts = "".join(fields[9:]).replace("|", "")
            rows.append(np.frombuffer(gts.encode(), dtype=np.uint8) - ord("0"))
    x = np.stack(rows).T  # haplotypes x SNPs
    hap_groups = np.repeat([groups[s] for s in samples], 2)
    return x, hap_groups


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--real", required=True)
    ap.add_argument("--real-panel", required=True)
    # One VCF + panel per group (gmmn-sample and gmmn-reference write one per group).
    ap.add_argument("--synthetic", required=True, nargs="+")
    ap.add_argument("--synthetic-panel", required=True, nargs="+")
    ap.add_argument("--label", default="pop")
    ap.add_argument("--splits", type=int, default=1)
    a = ap.parse_args()
    xr, gr = read_vcf(a.real, a.real_panel, a.label)
    parts = [read_vcf(v, p, a.label) for v, p in zip(a.synthetic, a.synthetic_panel, strict=True)]
    xs = np.vstack([x for x, _ in parts])
    gs = np.concatenate([g for _, g in parts])
    rng = np.random.default_rng(1)
    keep_r, keep_s = [], []
    for g in sorted(set(gr)):
        r, s = np.flatnonzero(gr == g), np.flatnonzero(gs == g)
        n = min(len(r), len(s))
        keep_r.append(rng.choice(r, n, replace=False) if len(r) > n else r)
        keep_s.append(rng.choice(s, n, replace=False) if len(s) > n else s)
    x = np.vstack([xr[np.concatenate(keep_r)], xs[np.concatenate(keep_s)]]).astype(np.float64)
    y = np.concatenate([np.zeros(sum(map(len, keep_r))), np.ones(sum(map(len, keep_s)))])
    print(f"scikit-learn {__import__('sklearn').__version__}: {x.shape[0]} haplotypes x {x.shape[1]} SNPs, {a.splits} split(s)")
    models = {
        "LR": lambda: LogisticRegression(),
        "KNN": lambda: GridSearchCV(
            KNeighborsClassifier(),
            {"n_neighbors": [2, 4, 10], "weights": ["uniform", "distance"], "p": [1, 2]},
            cv=5, scoring="balanced_accuracy", n_jobs=-1),
        "MLP": lambda: MLPClassifier(early_stopping=True, n_iter_no_change=20, random_state=1),
    }
    total = 0.0
    for name, make in models.items():
        accs, secs = [], 0.0
        for s in range(a.splits):
            xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.33, random_state=s)
            t0 = time.perf_counter()
            m = make().fit(xtr, ytr)
            accs.append(m.score(xte, yte))
            secs += time.perf_counter() - t0
        total += secs
        print(f"| {name} | {np.mean(accs):.3f} | {secs:.1f} |")
    print(f"| all | | {total:.1f} |")


if __name__ == "__main__":
    main()
