"""The one compiled module: the decision's candidate walk. Optional: where it cannot be built (no
C compiler or Python headers) the package installs without it and decides in Python."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "adunion.serving._native",
            ["src/adunion/serving/_native.c"],
            # The walk must round exactly as CPython's float arithmetic does: no fused
            # multiply-add, no reassociation.
            extra_compile_args=["-O2", "-ffp-contract=off", "-fno-fast-math"],
            optional=True,
        )
    ]
)
