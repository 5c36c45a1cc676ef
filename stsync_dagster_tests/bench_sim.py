"""The simulator as its own process for the benchmarks, with the real rate limit and added latency."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SimulatorProcess:
    def __init__(
        self, latency_ms: float, *, materials: int | None = None, scale: float = 1.0, extra: tuple[str, ...] = ()
    ) -> None:
        self.port = _free_port()
        cmd = [sys.executable, "-m", "stsync_dagster.simulator", "--port", str(self.port), "--scale", str(scale),
               "--latency-ms", str(latency_ms), "--rate-limit", "60", *extra]  # fmt: skip
        if materials is not None:
            cmd += ["--materials", str(materials)]
        printed = subprocess.run([*cmd, "--print-env-only"], capture_output=True, text=True, check=True, cwd=REPO)
        self.env = dict(line.split("=", 1) for line in printed.stdout.splitlines() if "=" in line)
        self.proc = subprocess.Popen(cmd, stderr=subprocess.DEVNULL, cwd=REPO)
        deadline = time.monotonic() + 120
        while True:
            try:
                self.stats("int")
                return
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("the simulator did not start") from None
                time.sleep(0.2)

    def stats(self, env: str) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/_sim/stats/{env}") as answer:
            return json.load(answer)

    def served(self) -> tuple[int, int]:
        """(requests, 429s) served to both environments so far."""
        both = [self.stats("int"), self.stats("prod")]
        return sum(s["requests"] for s in both), sum(s["rate_limited"] for s in both)

    def records(self, env: str, kind: str) -> list[dict]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/_sim/records/{env}/{kind}") as answer:
            return json.load(answer)

    def change(self, env: str, kind: str, edits: list[dict]) -> None:
        """Edit records in place (the simulator's /_sim/change): each {"id": n, field: value, ...}."""
        self._post(f"/_sim/change/{env}/{kind}", edits)

    def pace(self, rate_limit: int, latency_ms: float) -> None:
        """The API's limit (0: none) and added latency from now on (a bench builds its tenant fast, then measures
        at the real pace)."""
        self._post("/_sim/config", {"rate_limit": rate_limit})
        self._post("/_sim/faults", {"latency_ms": latency_ms})

    def add(self, env: str, kind: str, records: list[dict]) -> list[dict]:
        """Insert whole records (the simulator's POST /_sim/records): a record made in that tenant today."""
        return self._post(f"/_sim/records/{env}/{kind}", records)

    def _post(self, path: str, body) -> object:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request) as answer:
            return json.load(answer)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)

    def __enter__(self) -> "SimulatorProcess":
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()
