"""Where the CPU of the demo matrix goes: builder and kernel, report by report, on one warm kernel.

    .venv/bin/python benchmarks/matrix_cpu_benchmark.py [--out DIR]

Builds the 10 demo reports (5 areas × nb/en, in the order a ``regenerate`` worker
takes them: both languages of an area one after the other) in this process with
``build_report(..., reuse_kernel=True)``, as one ``regenerate`` worker does, and
prints for each report the CPU seconds of this process (validation, papermill's
client, the protection and its audit, the PDF) and of the kernel (the notebook's
analyses, figures and content), read with ``psutil``, beside the builder's own
timings. CPU seconds move much less than wall-clock seconds when other jobs share
the machine, so this is the measure to compare code before and after a change:
run it for each (e.g. the old code through ``PYTHONPATH`` from ``git archive``).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

AREAS = ("all", "Finnmark", "UNN", "Nordland", "Helgeland")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="publish here instead of a temporary folder")
    args = parser.parse_args(argv)
    import psutil

    from alis_research import config
    from alis_research.report import build

    out_dir = args.out or tempfile.mkdtemp(prefix="matrix-cpu-")
    me = psutil.Process()
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}; output {out_dir}")
    print(f"{'report':<16}{'wall':>7}{'builder CPU':>13}{'kernel CPU':>12}   builder's timings (wall)")
    totals = {"wall": 0.0, "builder": 0.0, "kernel": 0.0}
    for area in AREAS:
        for language in ("nb", "en"):
            kernel = next(iter(build.running_warm_kernels()), None)
            kernel_process = psutil.Process(kernel.manager.provisioner.process.pid) if kernel else None
            kernel_before = sum(kernel_process.cpu_times()[:2]) if kernel_process else 0.0
            builder_before, started = sum(me.cpu_times()[:2]), time.perf_counter()
            outcome = build.build_report(config.DEMO_DATASET, as_of=config.DEMO_AS_OF, area=area, language=language,
                                         out_dir=out_dir, reuse_kernel=True)
            wall = time.perf_counter() - started
            kernel = next(iter(build.running_warm_kernels()))
            kernel_process = psutil.Process(kernel.manager.provisioner.process.pid)
            kernel_cpu = sum(kernel_process.cpu_times()[:2]) - kernel_before
            builder_cpu = sum(me.cpu_times()[:2]) - builder_before
            for name, value in (("wall", wall), ("builder", builder_cpu), ("kernel", kernel_cpu)):
                totals[name] += value
            steps = " ".join(f"{k}={outcome.timings[k]:.2f}" for k in ("kernel_start", "analyses", "protect", "pdf")
                             if k in outcome.timings)
            print(f"{area + ' ' + language:<16}{wall:>6.2f}s{builder_cpu:>12.2f}s{kernel_cpu:>11.2f}s   {steps}",
                  flush=True)
    build.shutdown_warm_kernel()
    print(f"{'total':<16}{totals['wall']:>6.1f}s{totals['builder']:>12.1f}s{totals['kernel']:>11.1f}s   "
          f"CPU {totals['builder'] + totals['kernel']:.1f} s")
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
