"""How to build llama.cpp so it runs on this CPU: portable CMake flags where `-march=native` would use AMX.

Standard library only, so CI can run it before anything is installed: `python3 mcp_open/engines/buildflags.py`
prints the CMAKE_ARGS to build with, or nothing where the native build is fine.
"""

from __future__ import annotations

import sys
from pathlib import Path

# /proc/cpuinfo flag -> the ggml CMake option that compiles kernels for it (ggml/CMakeLists.txt, llama.cpp).
ISA_OPTIONS = {
    "sse4_2": "GGML_SSE42",
    "avx": "GGML_AVX",
    "avx2": "GGML_AVX2",
    "fma": "GGML_FMA",
    "f16c": "GGML_F16C",
    "bmi2": "GGML_BMI2",
    "avx_vnni": "GGML_AVX_VNNI",
    "avx512f": "GGML_AVX512",
    "avx512vbmi": "GGML_AVX512_VBMI",
    "avx512_vnni": "GGML_AVX512_VNNI",
    "avx512_bf16": "GGML_AVX512_BF16",
}
# Some virtual machines advertise AMX but fault on its tile instructions (SIGILL in libggml-cpu's AMX kernels), and
# `-march=native` compiles them in whenever the flag is there: a portable build never enables them.
AMX_FLAGS = ("amx_tile", "amx_int8", "amx_bf16")
AMX_OPTIONS = ("GGML_AMX_TILE", "GGML_AMX_INT8", "GGML_AMX_BF16")
PINNED = "0.3.36"


def cpu_flags(cpuinfo: str) -> set[str]:
    """The instruction-set flags of the first processor listed in /proc/cpuinfo text."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return set(value.split())
    return set()


def portable_cmake_args(flags: set[str]) -> str:
    """CMAKE_ARGS for a build using exactly the listed instruction sets (no -march=native, no AMX)."""
    on = [f"-D{option}=ON" for flag, option in ISA_OPTIONS.items() if flag in flags]
    off = [f"-D{option}=OFF" for option in AMX_OPTIONS]
    return " ".join(["-DGGML_NATIVE=OFF", *on, *off])


def needs_portable_build(flags: set[str]) -> bool:
    """Whether a native build could compile in instructions that may fault here (the CPU advertises AMX)."""
    return any(flag in flags for flag in AMX_FLAGS)


def ci_cmake_args(cpuinfo: str) -> str:
    """What CI builds with: portable flags on a CPU that advertises AMX, else nothing (the native build)."""
    flags = cpu_flags(cpuinfo)
    return portable_cmake_args(flags) if needs_portable_build(flags) else ""


def reinstall_command(cpuinfo: str | None = None) -> str:
    """The exact command that rebuilds llama-cpp-python for this CPU, skipping pip's cached (native) wheel."""
    if cpuinfo is None:
        cpuinfo = _read_cpuinfo()
    args = portable_cmake_args(cpu_flags(cpuinfo))
    return f'CMAKE_ARGS="{args}" pip install --force-reinstall --no-cache-dir --no-deps "llama-cpp-python=={PINNED}"'


def _read_cpuinfo(path: str = "/proc/cpuinfo") -> str:
    """The CPU description, or nothing where there is none (not Linux)."""
    try:
        return Path(path).read_text()
    except OSError:
        return ""


if __name__ == "__main__":
    print(ci_cmake_args(_read_cpuinfo(sys.argv[1] if len(sys.argv) > 1 else "/proc/cpuinfo")))
