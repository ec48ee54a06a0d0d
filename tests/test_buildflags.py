"""Which llama.cpp build CI and the SIGILL advice choose, from a CPU's /proc/cpuinfo (real and faked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mcp_open.engines.buildflags import ci_cmake_args, cpu_flags, portable_cmake_args, reinstall_command

ROOT = Path(__file__).resolve().parent.parent
# The Intel Xeon VM of issue 18 (AMX advertised, faulting) and the AMD EPYC this project was built on.
XEON_AMX = (
    "processor\t: 0\nflags\t\t: fpu sse4_2 avx avx2 fma f16c bmi2 avx512f avx512vbmi avx512_vnni amx_bf16 amx_tile "
    "amx_int8\n"
)
EPYC = "processor\t: 0\nflags\t\t: fpu sse4_2 avx avx2 fma f16c bmi2 avx512f avx512_vnni avx512_bf16\n"


def test_a_cpu_advertising_amx_gets_a_portable_build_without_amx() -> None:
    args = ci_cmake_args(XEON_AMX).split()
    assert args[0] == "-DGGML_NATIVE=OFF"
    assert {"-DGGML_AVX2=ON", "-DGGML_AVX512=ON", "-DGGML_AVX512_VBMI=ON", "-DGGML_AVX512_VNNI=ON"} <= set(args)
    assert {"-DGGML_AMX_TILE=OFF", "-DGGML_AMX_INT8=OFF", "-DGGML_AMX_BF16=OFF"} <= set(args)
    assert not [a for a in args if a.startswith("-DGGML_AMX") and a.endswith("=ON")]
    assert "-DGGML_AVX512_BF16=ON" not in args  # not listed by this CPU, so not compiled in


def test_a_cpu_without_amx_keeps_the_native_build() -> None:
    assert ci_cmake_args(EPYC) == ""
    assert ci_cmake_args("") == ""  # no cpuinfo (not Linux): nothing to change


def test_the_reinstall_command_skips_the_cached_wheel() -> None:
    command = reinstall_command(XEON_AMX)
    assert command.startswith(f'CMAKE_ARGS="{portable_cmake_args(cpu_flags(XEON_AMX))}" pip install ')
    assert "--force-reinstall --no-cache-dir" in command and '"llama-cpp-python==0.3.36"' in command


def test_ci_runs_the_script_before_installing(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(XEON_AMX)
    script = ROOT / "mcp_open" / "engines" / "buildflags.py"
    out = subprocess.run([sys.executable, str(script), str(cpuinfo)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ci_cmake_args(XEON_AMX)
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.index("python3 mcp_open/engines/buildflags.py") < ci.index('pip install -e ".[test]"')
    assert 'export CMAKE_ARGS="$portable" PIP_NO_CACHE_DIR=1' in ci
