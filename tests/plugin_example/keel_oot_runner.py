"""An out-of-tree runner, as a third party would ship it in its own package.

It drives wasmtime under another column name, which is enough to show that a
runner registered through the `keel_conformance.runners` entry point becomes
a column of the matrix without touching the suite.
"""
from runners.wasmtime_py import WasmtimeRunner


class OutOfTreeRunner(WasmtimeRunner):
    name = "oot-wasmtime"

    def probe(self):  # type: ignore[no-untyped-def]
        p = super().probe()
        return type(p)(**{**p.__dict__, "runtime": self.name, "origin": "an out-of-tree plugin (entry point)"})


def create():  # type: ignore[no-untyped-def]
    return OutOfTreeRunner()
