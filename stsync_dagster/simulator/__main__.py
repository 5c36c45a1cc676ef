"""python -m stsync_dagster.simulator --port PORT [--seed N] [--scale X] [...] [--print-env] [--write-env PATH]"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import sys
import threading

from .clock import parse_instant
from .data import Refresh
from .faults import Faults
from .server import Simulator
from .strict import Strictness


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m stsync_dagster.simulator",
        description="Serve a simulated ServiceTitan (Production under /prod, Integration under /int) on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--materials", type=int, help="number of Production materials (overrides --scale)")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--html-error-fraction", type=float, default=0.5)
    parser.add_argument("--drop-post-rate", type=float, default=0.0)
    parser.add_argument("--slow-rate", type=float, default=0.0)
    parser.add_argument("--slow-seconds", type=float, default=0.0)
    parser.add_argument("--fault-seed", type=int, default=0)
    parser.add_argument(
        "--echo-credentials",
        action="store_true",
        help="the token endpoints' refusals echo the request back, secret included",
    )
    parser.add_argument(
        "--until",
        type=parse_instant,
        default=None,
        help="end of the data's four-month window (default: the end of yesterday, UTC)",
    )
    parser.add_argument(
        "--invalid-fraction",
        type=float,
        default=0.0,
        help="fraction of Production materials, POs and jobs served with one invalid field "
        "(listed at GET /_sim/corruptions)",
    )
    parser.add_argument("--invalid-seed", type=int, help="seed of the choice of invalid records (default: --seed)")
    parser.add_argument("--export-batch-size", type=int, default=500)
    parser.add_argument("--token-lifetime", type=float, default=900)
    parser.add_argument("--rate-limit", type=int, default=60, help="requests/second per app per tenant; 0: none")
    parser.add_argument(
        "--refreshed-at",
        type=parse_instant,
        help="Integration starts as a copy of Production as of this instant (a refreshed tenant)",
    )
    parser.add_argument("--refresh-new-ids", action="store_true", help="the refreshed copy got new ids")
    parser.add_argument(
        "--handmade-materials", type=int, default=0, help="Integration materials made by hand with Production codes"
    )
    parser.add_argument(
        "--late-commit-rate",
        type=float,
        default=0.0,
        help="fraction of creates committed late-commit-seconds after they arrive",
    )
    parser.add_argument("--late-commit-seconds", type=float, default=0.0)
    parser.add_argument("--bulk-limit", type=int, default=100, help="most materials per bulk pricebook request")
    parser.add_argument(
        "--bulk-partial", action="store_true", help="a bulk request writes its valid items (default: all or nothing)"
    )
    parser.add_argument("--no-bulk", action="store_true", help="the bulk pricebook endpoints answer 404")
    parser.add_argument(
        "--lenient",
        action="append",
        default=[],
        choices=Strictness.rules(),
        help="switch off an undocumented rule the simulator enforces (repeatable)",
    )
    parser.add_argument("--print-env", action="store_true", help="print the ST_* block, then keep serving")
    parser.add_argument("--print-env-only", action="store_true", help="print the ST_* block and exit")
    parser.add_argument(
        "--write-env",
        metavar="PATH",
        help="write the ST_* block to PATH (a .env file) once the port is bound, then keep serving; unlike "
        "`--print-env > .env`, a port already in use leaves the file as it was",
    )
    return parser.parse_args(argv)


PROG = "python -m stsync_dagster.simulator"


def _refusal(exc: OSError, port: int) -> str:
    """One line saying why the port cannot be listened on."""
    if exc.errno == errno.EADDRINUSE:
        return (
            f"{PROG}: port {port} on 127.0.0.1 is already in use (another simulator still running?); "
            "stop it, or choose another port with --port (0 picks a free one)"
        )
    return f"{PROG}: cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}"


def write_env(path: str, env: dict[str, str]) -> None:
    """The ST_* block into `path`, whole or not at all: written beside it, then moved over it."""
    target = os.path.abspath(path)
    partial = f"{target}.{os.getpid()}.partial"
    try:
        with open(partial, "w", encoding="utf-8") as out:
            out.write("".join(f"{key}={value}\n" for key, value in env.items()))
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sim = Simulator(
        seed=args.seed,
        scale=args.scale,
        counts={"materials": args.materials} if args.materials is not None else None,
        token_lifetime=args.token_lifetime,
        rate_limit=args.rate_limit or None,
        until=args.until,
        export_batch_size=args.export_batch_size,
        invalid_fraction=args.invalid_fraction,
        invalid_seed=args.invalid_seed,
        refresh=Refresh(args.refreshed_at, keep_ids=not args.refresh_new_ids) if args.refreshed_at else None,
        handmade_materials=args.handmade_materials,
        strict={rule: False for rule in args.lenient},
        bulk={"enabled": not args.no_bulk, "limit": args.bulk_limit, "all_or_nothing": not args.bulk_partial},
        faults=Faults(
            latency_ms=args.latency_ms,
            error_rate=args.error_rate,
            html_error_fraction=args.html_error_fraction,
            drop_post_rate=args.drop_post_rate,
            slow_rate=args.slow_rate,
            slow_seconds=args.slow_seconds,
            seed=args.fault_seed,
            late_commit_rate=args.late_commit_rate,
            late_commit_seconds=args.late_commit_seconds,
            echo_credentials=args.echo_credentials,
        ),
    )
    try:
        sim.start(args.port)  # binds first, so with --port 0 the printed env names the real port
    except OSError as exc:
        print(_refusal(exc, args.port), file=sys.stderr, flush=True)
        return 2
    if args.write_env:
        try:
            write_env(args.write_env, sim.env())
        except OSError as exc:
            sim.stop()
            print(f"{PROG}: cannot write {args.write_env}: {exc.strerror or exc}", file=sys.stderr, flush=True)
            return 2
        print(f"Wrote the ST_* block to {args.write_env}", file=sys.stderr, flush=True)
    if args.print_env or args.print_env_only:
        print("\n".join(f"{key}={value}" for key, value in sim.env().items()), flush=True)
    if args.print_env_only:
        sim.stop()
        return 0
    print(
        f"ServiceTitan simulator serving on {sim.url} (prod: {sim.url}/prod, int: {sim.url}/int); Ctrl+C stops it.",
        file=sys.stderr,
        flush=True,
    )
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    while not stopping.wait(0.5):
        pass
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
