#!/usr/bin/env python3
"""Benchmark mfe-deploy against `aws s3 sync` (the common two-pass workflow recipe) and
`rclone copy --checksum`, on one generated monorepo, against one local S3 server
(s3s-fs), in one run. Reports medians and ratios per scenario; see docs/performance.md.

`--rtt-ms N` puts benches/rtt_proxy.py in front of the server, so every tool's every
request pays an N ms round trip; `--mode versioned` deploys mfe-deploy in versioned mode
against the same rclone and aws baselines.
"""

import argparse
import copy
import hashlib
import json
import math
import os
import random
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ACCESS_KEY = "benchaccesskey"
SECRET_KEY = "benchsecretkey"
REPO = Path(__file__).resolve().parent.parent
LONG = "public, max-age=31536000, immutable"


# --- the generated monorepo ---------------------------------------------------------

def sizes(rng, count, mean):
    """Log-normal sizes from a few hundred bytes to a few MB, averaging about `mean`."""
    sigma = 1.5
    mu = math.log(mean) - sigma * sigma / 2
    return [int(min(max(rng.lognormvariate(mu, sigma), 300), 4 * 1024 * 1024)) for _ in range(count)]


def write_module(root, name, files, mean, rng, shell):
    dist = root / "packages" / name / "dist"
    if dist.exists():
        shutil.rmtree(dist)
    (dist / "assets").mkdir(parents=True)
    fixed = ["remoteEntry.js", "mf-manifest.json"] + (["index.html"] if shell else [])
    for fname in fixed:
        (dist / fname).write_bytes(rng.randbytes(max(300, int(mean / 4))))
    kinds = [("", ".js"), ("", ".js.map"), ("", ".css"), ("assets/", ".png"), ("assets/", ".woff2")]
    weights = [45, 30, 10, 10, 5]
    for i, size in enumerate(sizes(rng, files - len(fixed), mean)):
        folder, ext = rng.choices(kinds, weights)[0]
        body = rng.randbytes(size)
        digest = hashlib.sha256(body).hexdigest()[:16]
        (dist / folder / f"chunk-{i}.{digest}{ext}").write_bytes(body)


def generate(root, modules, files, total_mb, seed, big_files):
    rng = random.Random(seed)
    mean = total_mb * 1024 * 1024 / (modules * files)
    names = [f"mod-{i:02}" for i in range(modules)]
    for i, name in enumerate(names):
        write_module(root, name, files, mean, rng, shell=(i == 0))
    write_module(root, "big", big_files, mean, rng, shell=False)
    return names


def dist_files(root, name):
    return sorted(p for p in (root / "packages" / name / "dist").rglob("*") if p.is_file())


def rebuild(root, names):
    """Same bytes, new mtimes: what every CI build looks like."""
    later = time.time() + 3600
    for name in names:
        for path in dist_files(root, name):
            data = path.read_bytes()
            path.unlink()
            path.write_bytes(data)
            os.utime(path, (later, later))


def one_change(root, name, round_no):
    """One new chunk and one edited entry."""
    dist = root / "packages" / name / "dist"
    body = f"// chunk of round {round_no}\n".encode() * 200
    (dist / f"chunk-new-{round_no}.{hashlib.sha256(body).hexdigest()[:16]}.js").write_bytes(body)
    with open(dist / "remoteEntry.js", "ab") as f:
        f.write(f"\n// round {round_no}\n".encode())


# --- the server ------------------------------------------------------------------------

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def listening(proc, port, what):
    """Wait until `proc` accepts connections on `port`; its endpoint URL."""
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit(f"{what} did not start")


def start_server(s3s, data):
    port = free_port()
    data.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [s3s, "--host", "127.0.0.1", "--port", str(port), "--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY, str(data)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return proc, listening(proc, port, "s3s-fs")


def start_rtt_proxy(server_endpoint, rtt_ms, log=None):
    """benches/rtt_proxy.py on a free loopback port, forwarding to the server with
    `rtt_ms` added to every round trip (and logging requests to `log`); the process and
    the endpoint to give the tools."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("rtt_proxy.py")), "--listen-port", str(port),
         "--target", server_endpoint.removeprefix("http://"), "--rtt-ms", str(rtt_ms)]
        + (["--log", log] if log else []),
        stdout=subprocess.DEVNULL,
    )
    return proc, listening(proc, port, "rtt_proxy.py")


def reset_bucket(data, bucket):
    path = data / bucket
    if path.exists():
        shutil.rmtree(path)
    path.mkdir()


# --- the tools -------------------------------------------------------------------------

def env_for(endpoint):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GITHUB_", "INPUT_", "RCLONE_"))}
    env.update(
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


def run(cmd, env, cwd, stats=None, rss=None):
    wrapped = ["/usr/bin/time", "-v"] + cmd if rss is not None else cmd
    started = time.perf_counter()
    out = subprocess.run(wrapped, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stdout}\n{out.stderr}")
    if stats is not None:
        stats.append(out.stderr)
    if rss is not None:
        match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr)
        rss.append(int(match.group(1)) if match else 0)
    return elapsed


def mfe(ctx, name, bucket, stats=None, rss=None):
    cmd = [ctx.mfe, "deploy", "--package", f"packages/{name}", "--bucket", bucket, "--endpoint-url", ctx.endpoint]
    return run(cmd + ctx.mode_args, ctx.env, ctx.root, stats, rss)


def aws_two_pass(ctx, name, bucket):
    dist, target = f"packages/{name}/dist", f"s3://{bucket}/{name}/"
    common = ["aws", "s3", "sync", dist, target, "--endpoint-url", ctx.endpoint, "--only-show-errors"]
    fixed = ["--exclude", "index.html", "--exclude", "remoteEntry.js", "--exclude", "mf-manifest.json"]
    first = run(common + fixed + ["--cache-control", LONG], ctx.env, ctx.root)
    only_fixed = ["--exclude", "*", "--include", "index.html", "--include", "remoteEntry.js", "--include", "mf-manifest.json"]
    return first + run(common + only_fixed + ["--cache-control", "no-cache"], ctx.env, ctx.root)


def rclone(ctx, name, bucket):
    remote = f":s3,provider=Other,endpoint='{ctx.endpoint}',access_key_id={ACCESS_KEY},secret_access_key={SECRET_KEY},force_path_style=true:{bucket}/{name}"
    # NOTE: rclone first HEADs the destination path to see whether it is a file;
    # s3s-fs answers 500 for a key that is a folder on its disk, and rclone then
    # retries for ~80 s. `--s3-no-head-object` skips that probe; comparisons stay
    # size + MD5 (`--checksum`).
    cmd = ["rclone", "copy", "--checksum", "--transfers", "32", "--checkers", "64", "--s3-no-check-bucket",
           "--s3-no-head-object", f"packages/{name}/dist", remote]
    return run(cmd, ctx.env, ctx.root)


def mfe_all(ctx, names, bucket, stats=None, rss=None):
    # The whole monorepo in one process: `--packages` (one invalidation, one client).
    cmd = [ctx.mfe, "deploy", "--packages", "packages/*", "--bucket", bucket, "--endpoint-url", ctx.endpoint]
    return run(cmd + ctx.mode_args, ctx.env, ctx.root, stats, rss)


def rclone_all(ctx, names, bucket):
    # One rclone over the whole tree: every module's dist (keys keep the
    # `packages/<name>/dist/` path; the objects and bytes are the same).
    remote = f":s3,provider=Other,endpoint='{ctx.endpoint}',access_key_id={ACCESS_KEY},secret_access_key={SECRET_KEY},force_path_style=true:{bucket}"
    cmd = ["rclone", "copy", "--checksum", "--transfers", "32", "--checkers", "64", "--s3-no-check-bucket",
           "--s3-no-head-object", "--include", "packages/*/dist/**", ".", remote]
    return run(cmd, ctx.env, ctx.root)


TOOLS = {"mfe-deploy": mfe, "aws s3 sync x2": aws_two_pass, "rclone": rclone}
#: The one-run scenarios: the whole monorepo per tool invocation.
WHOLE = {"mfe-deploy": mfe_all, "rclone": rclone_all}
BUCKETS = {"mfe-deploy": "bench-mfe", "aws s3 sync x2": "bench-aws", "rclone": "bench-rclone"}


class Ctx:
    pass


def deploy_all(ctx, tool, names, stats=None, rss=None):
    fn = TOOLS[tool]
    total = 0.0
    for name in names:
        if tool == "mfe-deploy":
            total += fn(ctx, name, BUCKETS[tool], stats, rss)
        else:
            total += fn(ctx, name, BUCKETS[tool])
    return total


def rotated(round_no):
    tools = list(TOOLS)
    k = round_no % len(tools)
    return tools[k:] + tools[:k]


def scenario(ctx, title, names, reps, prepare, per_tool_prepare=None, collect_stats=False):
    times = {t: [] for t in TOOLS}
    stats, rss = [], []
    for r in range(reps):
        prepare(r)
        for tool in rotated(r):
            if per_tool_prepare:
                per_tool_prepare(tool)
            # NOTE: a rebuild rewrites every file; without this the disk's writeback
            # of those bytes lands on whichever tool runs first in the round.
            os.sync()
            want = collect_stats and tool == "mfe-deploy"
            times[tool].append(deploy_all(ctx, tool, names, stats if want else None, rss if want else None))
    medians = {t: statistics.median(v) for t, v in times.items()}
    res = {"title": title, "medians": medians, "runs": times, "stats": stats, "rss_kb": rss}
    print_scenario(res)
    return res


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def process_cpu(pid):
    """User + system CPU seconds of a running process (the server), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu(ctx):
    """CPU seconds of the server so far, and of the round-trip proxy when there is one."""
    return sum(process_cpu(pid) for pid in ctx.server_pids)


def whole_scenario(ctx, title, names, reps, prepare, per_tool_prepare=None):
    times = {t: [] for t in WHOLE}
    # CPU seconds per run: the tool's own, and the server's while it ran. On a
    # machine of N cores no run takes less than their sum / N.
    cpu = {t: {"own": [], "server": [], "both": []} for t in WHOLE}
    stats, rss = [], []
    for r in range(reps):
        prepare(r)
        for tool in (list(WHOLE) if r % 2 == 0 else list(WHOLE)[::-1]):
            if per_tool_prepare:
                per_tool_prepare(tool)
            os.sync()
            own, server = children_cpu(), server_cpu(ctx)
            if tool == "mfe-deploy":
                times[tool].append(WHOLE[tool](ctx, names, BUCKETS[tool], stats, rss))
            else:
                times[tool].append(WHOLE[tool](ctx, names, BUCKETS[tool]))
            cpu[tool]["own"].append(children_cpu() - own)
            cpu[tool]["server"].append(server_cpu(ctx) - server)
            cpu[tool]["both"].append(cpu[tool]["own"][-1] + cpu[tool]["server"][-1])
    medians = {t: statistics.median(v) for t, v in times.items()}
    cpu_medians = {t: {k: statistics.median(v) for k, v in c.items()} for t, c in cpu.items()}
    res = {"title": title, "medians": medians, "runs": times, "cpu": cpu_medians, "stats": stats, "rss_kb": rss}
    print_scenario(res)
    return res


REQUEST_KINDS = ["LIST", "GET", "HEAD", "PUT", "COPY", "MULTIPART", "DELETE"]
#: The line every mfe-deploy process logs at its end (src/store/counts.rs).
REQUESTS_LINE = re.compile(
    r"requests: LIST (\d+), GET (\d+), HEAD (\d+), PUT (\d+), COPY (\d+), MULTIPART (\d+)(?:, DELETE (\d+))?; "
    r"(\d+) bytes sent(?:; first request (\d+) ms)?"
)


def parse_stats(blobs):
    """Requests by kind and bytes sent, summed over the stderr `blobs` of mfe-deploy
    processes; the first-request delays; the scans' total milliseconds."""
    totals = dict.fromkeys(REQUEST_KINDS + ["bytes"], 0)
    first, scan_ms = [], 0
    for blob in blobs:
        m = REQUESTS_LINE.search(blob)
        if m:
            for key, value in zip(REQUEST_KINDS + ["bytes"], m.groups()[:8]):
                totals[key] += int(value or 0)
            if m.group(9):
                first.append(int(m.group(9)))
        s = re.search(r"scanned \d+ files \(.*?\) in (\d+) ms", blob)
        if s:
            scan_ms += int(s.group(1))
    return totals, first, scan_ms


def requests_per_run(res):
    """mfe-deploy's requests by kind and bytes sent in one run of a scenario (the
    mean over its runs; a run of a per-module scenario is every module's deploy)."""
    totals, _, _ = parse_stats(res["stats"])
    runs = max(1, len(res["runs"]["mfe-deploy"]))
    return {k: round(v / runs) for k, v in totals.items()}


def format_requests(per_run):
    """`LIST 3, GET 2, PUT 5` (kinds sent at least once), or `none`."""
    return ", ".join(f"{k} {v:,}" for k, v in per_run.items() if k != "bytes" and v) or "none"


def print_scenario(res):
    """The progress line of one scenario: medians, then mfe-deploy's requests per run."""
    medians = ", ".join(f"{t} {m:.2f}s" for t, m in res["medians"].items())
    per_run = requests_per_run(res)
    print(f"  {res['title']}: {medians}; mfe-deploy requests per run: {format_requests(per_run)}, "
          f"{per_run['bytes']:,} B sent", flush=True)


def memory_by_file_size(ctx, data, large_mb, rng):
    """Peak RSS of a cold deploy of one file of 4 MiB and of one of `large_mb` MiB:
    bodies stream from disk, so the second must not cost more memory than the first.
    It measures memory, not round trips or modes: in place (a one-file module has no
    entry for a versioned manifest to name), straight to the server, without the proxy."""
    direct = copy.copy(ctx)
    direct.endpoint, direct.mode_args = ctx.server_endpoint, []
    peaks = {}
    for name, mib in (("one-small-file", 4), ("one-large-file", large_mb)):
        dist = ctx.root / "packages" / name / "dist"
        dist.mkdir(parents=True, exist_ok=True)
        with open(dist / "video.0123456789abcdef.mp4", "wb") as f:
            for _ in range(mib):
                f.write(rng.randbytes(1024 * 1024))
        reset_bucket(data, BUCKETS["mfe-deploy"])
        rss = []
        mfe(direct, name, BUCKETS["mfe-deploy"], rss=rss)
        peaks[mib] = rss[0]
        shutil.rmtree(ctx.root / "packages" / name)
    return peaks


def hashing_baseline(root, names):
    files = [str(p) for n in names for p in dist_files(root, n)]
    total = sum(os.path.getsize(f) for f in files)
    elapsed = 0.0
    for tool in ("sha256sum",):
        started = time.perf_counter()
        for i in range(0, len(files), 500):
            subprocess.run([tool] + files[i:i + 500], stdout=subprocess.DEVNULL, check=True)
        elapsed += time.perf_counter() - started
    return total, elapsed


def default_server_data():
    # NOTE: on a disk-backed s3s-fs every PUT is a file write, and with thousands of
    # small objects the run measures the disk's writeback: cold times grew 4x from
    # one round to the next on this machine. tmpfs keeps the server fast and steady.
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return str(shm / f"mfe-deploy-bench-{os.getpid()}")
    return str(REPO / ".bench" / "work" / "s3")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--modules", type=int, default=30)
    ap.add_argument("--files", type=int, default=200, help="files per module")
    ap.add_argument("--total-mb", type=float, default=70)
    ap.add_argument("--big-files", type=int, default=6000, help="files of the big module")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--large-mb", type=int, default=512, help="size of the one-file module of the memory check")
    ap.add_argument("--work", default=str(REPO / ".bench" / "work"))
    ap.add_argument("--s3s-fs", default=shutil.which("s3s-fs") or str(REPO / ".bench" / "tools" / "bin" / "s3s-fs"))
    ap.add_argument("--mfe-deploy", default=str(REPO / "target" / "release" / "mfe-deploy"))
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--rtt-ms", type=float, default=0,
                    help="round trip added to every request of every tool by benches/rtt_proxy.py in front of "
                         "the server (default 0: no proxy)")
    ap.add_argument("--rtt-log", help="with --rtt-ms: the proxy writes every tool's request lines here, with times")
    ap.add_argument("--mode", choices=["in-place", "versioned"], default="in-place",
                    help="mfe-deploy's deploy mode (version labels are the build digests)")
    ap.add_argument("--without-aws", action="store_true",
                    help="leave `aws s3 sync` out (the slowest tool by far; the targets are against rclone)")
    ap.add_argument("--server-data", default=default_server_data(),
                    help="where s3s-fs keeps the objects (default: tmpfs /dev/shm when present, so the "
                         "server's disk is not what is measured)")
    args = ap.parse_args()
    if args.without_aws:
        del TOOLS["aws s3 sync x2"]

    ctx = Ctx()
    work = Path(args.work)
    if work.exists():
        shutil.rmtree(work)
    ctx.root = work / "repo"
    data = Path(args.server_data)
    if data.exists():
        shutil.rmtree(data)
    ctx.mfe = str(Path(args.mfe_deploy).resolve())
    # In place is mfe-deploy's default: no flag, as before `--mode` existed here.
    ctx.mode_args = ["--mode", "versioned"] if args.mode == "versioned" else []
    names = generate(ctx.root, args.modules, args.files, args.total_mb, args.seed, args.big_files)
    total_files = sum(len(dist_files(ctx.root, n)) for n in names)
    total_bytes = sum(p.stat().st_size for n in names for p in dist_files(ctx.root, n))
    print(f"server data: {data}", flush=True)
    print(f"monorepo: {len(names)} modules, {total_files} files, {total_bytes / 1e6:.1f} MB; big module: {args.big_files} files", flush=True)
    server, ctx.server_endpoint = start_server(args.s3s_fs, data)
    ctx.endpoint, ctx.server_pids, proxy = ctx.server_endpoint, [server.pid], None
    if args.rtt_ms > 0:
        proxy, ctx.endpoint = start_rtt_proxy(ctx.server_endpoint, args.rtt_ms, args.rtt_log)
        ctx.server_pids.append(proxy.pid)
    print(f"mfe-deploy mode: {args.mode}; round trip added: {args.rtt_ms:g} ms"
          + (f" (rtt_proxy.py at {ctx.endpoint})" if proxy else ""), flush=True)
    ctx.env = env_for(ctx.endpoint)
    results = []
    try:
        for bucket in BUCKETS.values():
            reset_bucket(data, bucket)
        results.append(scenario(ctx, "cold", names, args.reps, lambda r: None, lambda t: reset_bucket(data, BUCKETS[t]), True))
        results.append(scenario(ctx, "rebuild", names, args.reps, lambda r: rebuild(ctx.root, names), None, True))
        # One change takes a tenth of a second: three times the rounds steady its median.
        results.append(scenario(ctx, "one change", [names[1]], 3 * args.reps, lambda r: one_change(ctx.root, names[1], r), None, True))
        results.append(scenario(ctx, "big module, cold", ["big"], args.reps, lambda r: None, lambda t: reset_bucket(data, BUCKETS[t]), True))
        results.append(scenario(ctx, "big module, rebuild", ["big"], args.reps, lambda r: rebuild(ctx.root, ["big"]), None, True))
        # Every module of the tree, the big one included (`packages/*` names it too).
        everything = names + ["big"]
        whole = []
        for bucket in BUCKETS.values():
            reset_bucket(data, bucket)
        whole.append(whole_scenario(ctx, "whole monorepo, one run: cold", everything, args.reps, lambda r: None, lambda t: reset_bucket(data, BUCKETS[t])))
        whole.append(whole_scenario(ctx, "whole monorepo, one run: rebuild", everything, args.reps, lambda r: rebuild(ctx.root, everything)))
        whole.append(whole_scenario(ctx, "whole monorepo, one run: one change", everything, 3 * args.reps, lambda r: one_change(ctx.root, names[1], r)))
        hashed, hash_seconds = hashing_baseline(ctx.root, names)
        peaks = memory_by_file_size(ctx, data, args.large_mb, random.Random(args.seed))
    finally:
        for proc in (proxy, server):
            if proc:
                proc.kill()
        shutil.rmtree(data, ignore_errors=True)

    print()
    print(f"mfe-deploy --mode {args.mode}, round trip +{args.rtt_ms:g} ms")
    print()
    print("| scenario | mfe-deploy | rclone | aws s3 sync x2 | mfe / rclone | mfe / aws | mfe requests (per run) | mfe peak RSS |")
    print("|---|---|---|---|---|---|---|---|")
    for res in results:
        m = res["medians"]
        totals, first, scan_ms = parse_stats(res["stats"])
        per_run = requests_per_run(res)
        rss = f"{max(res['rss_kb']) / 1024:.0f} MB" if res["rss_kb"] else ""
        aws = m.get("aws s3 sync x2")
        aws_time, aws_ratio = (f"{aws:.2f} s", f"{m['mfe-deploy'] / aws:.3f}") if aws else ("-", "-")
        print(f"| {res['title']} | {m['mfe-deploy']:.2f} s | {m['rclone']:.2f} s | {aws_time} "
              f"| {m['mfe-deploy'] / m['rclone']:.2f} | {aws_ratio} "
              f"| {format_requests(per_run)}; {per_run['bytes']:,} B sent | {rss} |")
        res["requests"] = totals
        res["requests_per_run"] = per_run
        res["first_request_ms"] = first
        res["scan_ms"] = scan_ms
    print()
    cores = os.cpu_count() or 1
    server_is = "server and proxy" if proxy else "server"
    print("| one run over the whole monorepo | mfe-deploy --packages | rclone copy (whole tree) | mfe / rclone | mfe requests (per run) "
          f"| CPU own + {server_is}: mfe-deploy | CPU own + {server_is}: rclone | mfe-deploy's floor: its CPU / {cores} cores |")
    print("|---|---|---|---|---|---|---|---|")
    for res in whole:
        m, c = res["medians"], res["cpu"]
        totals, _, _ = parse_stats(res["stats"])
        per_run = requests_per_run(res)
        floor = c["mfe-deploy"]["both"] / cores
        print(f"| {res['title'].split(': ')[1]} | {m['mfe-deploy']:.2f} s | {m['rclone']:.2f} s | {m['mfe-deploy'] / m['rclone']:.2f} | {format_requests(per_run)} "
              f"| {c['mfe-deploy']['own']:.2f} + {c['mfe-deploy']['server']:.2f} s | {c['rclone']['own']:.2f} + {c['rclone']['server']:.2f} s "
              f"| {floor:.2f} s ({floor / m['rclone']:.2f} of rclone) |")
        res["requests"] = totals
        res["requests_per_run"] = per_run
    results.extend(whole)
    cold = results[0]
    _, first, scan_ms = parse_stats(cold["stats"])
    per_run_scan = scan_ms / max(1, len(cold["runs"]["mfe-deploy"]))
    mfe_rate = total_bytes / (per_run_scan / 1000) / 1e6 if per_run_scan else None
    base_rate = hashed / hash_seconds / 1e6
    print()
    if mfe_rate:
        print(f"hashing: mfe-deploy's scan {mfe_rate:.0f} MB/s (SHA-256, all cores; MD5 only later, where an ETag must decide or for parts) vs sha256sum {base_rate:.0f} MB/s ({mfe_rate / base_rate:.2f}x)")
    else:
        print("hashing: the scans took under a millisecond (too small a tree to measure)")
    if first:
        print(f"process start to first request: median {statistics.median(first)} ms, max {max(first)} ms")
    small, large = peaks.values()
    print(f"peak RSS, cold deploy of one file: 4 MiB {small / 1024:.0f} MB, {args.large_mb} MiB {large / 1024:.0f} MB")
    if args.json:
        Path(args.json).write_text(json.dumps({"mode": args.mode, "rtt_ms": args.rtt_ms, "results": results, "hash_mb_s": [mfe_rate, base_rate],
                                               "rss_kb_by_file_mib": peaks}, indent=2, default=str))


if __name__ == "__main__":
    main()
