#!/usr/bin/env python3
"""Time gmmn-ingest against `bcftools query` on one VCF and print a Markdown report.

Usage: ingest_bench.py --vcf BIG.vcf.gz --stats BIG.stats --ingest BIN --out DIR [--runs N]

Each tool runs N times (alternating, so drifting background load hits both alike); each run
is a direct child (no shell) reaped with os.wait4, whose rusage gives that child's own peak
RSS. Reported: the best (minimum) wall time and the largest peak RSS over the runs.
Standard library only. Exit status: 0 when both tools ran (a missed target is only reported),
1 when a tool failed.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

TARGET_THROUGHPUT_RATIO = 1.0  # gmmn-ingest records/s over bcftools records/s: at least
TARGET_RSS_RATIO = 2.0  # gmmn-ingest peak RSS over haplotypes x SNPs bytes: at most

MIB = 1024 * 1024
MB = 1_000_000


@dataclass
class Result:
    name: str
    walls: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)  # user + system seconds per run
    error: str | None = None
    stdout: str = ""

    @property
    def best_wall(self) -> float:
        return min(self.walls)

    @property
    def peak_rss_bytes(self) -> int:
        return max(self.rss_kib) * 1024  # Linux ru_maxrss is in KiB


def run_once(cmd: list[str], res: Result, capture_stdout: bool) -> None:
    """Run cmd once as a direct child; record wall time and its own peak RSS."""
    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as out:
        stdout = out if capture_stdout else subprocess.DEVNULL
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=stdout, stderr=err)
        _, status, rusage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped: tell Popen
        if proc.returncode != 0:
            err.seek(0)
            res.error = (
                f"`{' '.join(cmd)}` exited with status {proc.returncode}; stderr:\n"
                + err.read().decode(errors="replace").strip()
            )
            return
        res.walls.append(wall)
        res.rss_kib.append(rusage.ru_maxrss)
        res.cpus.append(rusage.ru_utime + rusage.ru_stime)
        if capture_stdout:
            out.seek(0)
            res.stdout = out.read().decode(errors="replace").strip()


def read_counts(meta_path: str) -> dict[str, int]:
    """The `counts:` map of a manifest (block or flow style YAML), without a YAML library."""
    counts: dict[str, int] = {}
    with open(meta_path) as f:
        lines = f.read().splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^counts:\s*(.*)$", line)
        if not m:
            continue
        rest = m.group(1).strip()
        if rest.startswith("{"):  # flow style: counts: {a: 1, b: 2}
            for k, v in re.findall(r"([\w.-]+)\s*:\s*(\d+)", rest):
                counts[k] = int(v)
            return counts
        for sub in lines[i + 1 :]:
            if sub.strip() == "" or sub.lstrip().startswith("#"):
                continue
            if not sub[:1].isspace():
                break  # next top-level key
            mm = re.match(r"^\s+['\"]?([\w.-]+)['\"]?\s*:\s*['\"]?(\d+)['\"]?\s*$", sub)
            if mm:
                counts[mm.group(1)] = int(mm.group(2))
        return counts
    raise SystemExit(f"ingest_bench: no `counts:` map in {meta_path}")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout
        return out.splitlines()[0].strip() if out else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def fmt_mib(n: float) -> str:
    return f"{n / MIB:,.1f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vcf", required=True)
    ap.add_argument("--stats", required=True, help="file with lines `bytes N` and `records N`")
    ap.add_argument("--ingest", required=True, help="gmmn-ingest binary")
    ap.add_argument("--out", required=True, help="gmmn-ingest output directory")
    ap.add_argument("--bcftools", default="bcftools")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()

    stats: dict[str, int] = {}
    with open(args.stats) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                stats[parts[0]] = int(parts[1])
    text_bytes, records = stats["bytes"], stats["records"]
    gz_bytes = os.path.getsize(args.vcf)

    # Warm the page cache so neither tool pays for the first read from disk.
    with open(args.vcf, "rb") as f:
        while f.read(MIB):
            pass

    # Linux folds the forking process's RSS high-water mark into the child's ru_maxrss at exec,
    # so every figure includes this Python launcher's own peak: measure that floor to state it.
    floor = Result("/bin/true")
    run_once(["true"], floor, False)
    floor_kib = floor.rss_kib[0] if floor.rss_kib else 0

    load_before = os.getloadavg()
    ingest_cmd = [args.ingest, args.vcf, "--out", args.out, "--quiet"]
    bcf_cmd = [args.bcftools, "query", "-f", "[%GT]\\n", args.vcf]
    ing = Result("gmmn-ingest")
    bcf = Result("bcftools query")
    for i in range(args.runs):
        for res, cmd, cap in ((ing, ingest_cmd, True), (bcf, bcf_cmd, False)):
            if res.error:
                continue
            if res is ing:
                shutil.rmtree(args.out, ignore_errors=True)
            print(f"  run {i + 1}/{args.runs}: {res.name} ...", end="", flush=True, file=sys.stderr)
            run_once(cmd, res, cap)
            print(
                " FAILED" if res.error else f" {res.walls[-1]:.2f} s, {res.rss_kib[-1] / 1024:,.0f} MiB",
                file=sys.stderr,
            )

    nproc = os.cpu_count()
    try:
        avail = len(os.sched_getaffinity(0))
    except AttributeError:
        avail = nproc
    print()
    print("## Ingest benchmark: gmmn-ingest vs bcftools query")
    print()
    print(f"- host: {platform.node()}; CPU: {cpu_model()}; nproc: {avail} (online CPUs: {nproc})")
    try:
        with open("/proc/meminfo") as f:
            mem = next(l.split()[1] for l in f if l.startswith("MemTotal"))
        print(f"- memory: {int(mem) / MIB:,.1f} GiB")
    except (OSError, StopIteration):
        pass
    print(f"- load average before timing: {' '.join(f'{x:.2f}' for x in load_before)}; "
          f"after: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1/5/15 min; compare with nproc)")
    print(f"- {version([args.ingest, '--version'])}; {version([args.bcftools, '--version'])}")
    print(f"- input: `{args.vcf}`: {records:,} records; {text_bytes / MB:,.1f} MB VCF text, "
          f"{gz_bytes / MB:,.1f} MB bgzip")
    print(f"- commands (best wall of {args.runs} alternating runs, max peak RSS; page cache warm):")
    print(f"  - `{' '.join(ingest_cmd)}` (decompression threads: default = all cores)")
    print(f"  - `{args.bcftools} query -f '[%GT]\\n' {args.vcf} > /dev/null`")
    print("- wall s: best run; CPU s: user + system time of that run (above wall s = parallel)")
    print(f"- peak RSS is the child's ru_maxrss from os.wait4; it includes a launcher floor of "
          f"{floor_kib / 1024:,.1f} MiB (what `true` measures the same way), so a figure near that "
          f"floor means 'at most that much'")
    print()
    print("| tool | records | records/s | MB/s VCF text | MB/s bgzip | wall s | CPU s | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for res in (ing, bcf):
        if res.error or not res.walls:
            print(f"| {res.name} | {records:,} | FAILED | | | | | |")
            continue
        w = res.best_wall
        print(
            f"| {res.name} | {records:,} | {records / w:,.0f} | {text_bytes / MB / w:,.1f} | "
            f"{gz_bytes / MB / w:,.1f} | {w:.2f} | {res.cpus[res.walls.index(w)]:.2f} | "
            f"{fmt_mib(res.peak_rss_bytes)} |"
        )
    print()

    failed = False
    for res in (ing, bcf):
        if res.error:
            failed = True
            print(f"**{res.name} failed**:\n\n```\n{res.error}\n```\n")
    if failed:
        return 1

    if ing.stdout:
        print(f"gmmn-ingest summary: {ing.stdout}")
        print()
    geno = os.path.join(args.out, "genotypes.parquet")
    counts = read_counts(geno + ".meta.yaml")
    haps, snps = counts["haplotypes"], counts["snps"]
    matrix = haps * snps
    thr_ratio = bcf.best_wall / ing.best_wall  # same record count: ratio of records/s
    rss_ratio = ing.peak_rss_bytes / matrix
    print(f"- output matrix: {haps:,} haplotypes x {snps:,} SNPs = {matrix:,} bytes "
          f"({fmt_mib(matrix)} MiB)")
    print(f"- genotypes.parquet: {os.path.getsize(geno):,} bytes ({fmt_mib(os.path.getsize(geno))} MiB)"
          f"; variants.parquet: {os.path.getsize(os.path.join(args.out, 'variants.parquet')):,} bytes")
    print()
    print("| ratio | value | target | result |")
    print("|---|---:|---:|---|")
    print(f"| throughput gmmn-ingest / bcftools | {thr_ratio:.2f} | >= {TARGET_THROUGHPUT_RATIO:.1f} | "
          f"{'PASS' if thr_ratio >= TARGET_THROUGHPUT_RATIO else 'MISS'} |")
    print(f"| gmmn-ingest peak RSS / output matrix | {rss_ratio:.2f} | <= {TARGET_RSS_RATIO:.1f} | "
          f"{'PASS' if rss_ratio <= TARGET_RSS_RATIO else 'MISS'} |")
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
