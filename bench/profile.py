"""Where a call's time goes: the composer, in-process, timed and profiled (pyinstrument).

    python bench/profile.py                                   # per-call time of every case and state
    python bench/profile.py --case TauApplication+database --state steady --pyinstrument
    python bench/profile.py --source /path/to/old/checkout    # the same, for another version

It times `composer.compose` on the requests bench/run.py sends (no gRPC, no
response cache: what a call costs when it has to be composed), which is what
the profile should be read against. bench/run.py measures the server.
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import time

REPO = pathlib.Path(__file__).resolve().parent.parent


def main() -> None:
    """Time (and optionally profile) the composer on each scenario."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=pathlib.Path, help="take the `function` package from this checkout")
    parser.add_argument("--case", action="append", help="only this case (repeatable)")
    parser.add_argument("--state", action="append", choices=("first", "steady"), help="only this state (repeatable)")
    parser.add_argument("--calls", type=int, default=2000, help="calls per timing (default 2000)")
    parser.add_argument("--repeat", type=int, default=5, help="timings per scenario; the median is printed")
    parser.add_argument("--pyinstrument", action="store_true", help="print a pyinstrument profile of each scenario")
    args = parser.parse_args()

    # The package under test must be imported before bench/run.py imports it.
    sys.path.insert(0, str(args.source or REPO))
    from crossplane.function import logging, response  # noqa: PLC0415
    from crossplane.function.proto.v1 import run_function_pb2 as fnv1  # noqa: PLC0415

    from function import dispatch  # noqa: PLC0415

    sys.path.insert(1, str(REPO / "bench"))
    import run  # noqa: PLC0415

    logging.configure(level=logging.Level.DISABLED)
    cases = [c for c in run.CASES if not args.case or c.name in args.case]
    for scen in run.scenarios(cases, with_peer=False):
        if scen.state not in (args.state or ("first", "steady")):
            continue
        req = fnv1.RunFunctionRequest.FromString(scen.requests["function-tau"])

        def once(req: fnv1.RunFunctionRequest = req) -> None:
            dispatch.respond(req, response.to(req))

        timings = []
        for _ in range(args.repeat):
            t0 = time.perf_counter_ns()
            for _ in range(args.calls):
                once()
            timings.append((time.perf_counter_ns() - t0) / args.calls / 1000)
        runs = ", ".join(f"{t:.0f}" for t in timings)
        size = len(scen.requests["function-tau"])
        print(f"{scen.label:34} {statistics.median(timings):7.0f} us per call (runs: {runs}); request {size} bytes")
        if args.pyinstrument:
            from pyinstrument import Profiler  # noqa: PLC0415 - a dev dependency

            profiler = Profiler(interval=0.0001)
            with profiler:
                for _ in range(args.calls):
                    once()
            print(profiler.output_text(unicode=True, color=False))


if __name__ == "__main__":
    main()
