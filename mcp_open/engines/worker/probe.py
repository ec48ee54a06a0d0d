"""What the llama.cpp build can do, asked in a short process: `python -m mcp_open.engines.worker.probe`.

The server asks this at start (for the GPU answer) without importing llama_cpp. Importing the package costs
0.3-0.4 s of CPU (numpy and its bindings); loading its shared libraries with ctypes and calling four functions of
llama.cpp's public C API costs about 0.05 s. The model workers answer the same question with the package itself.
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import importlib.util
import json
import os

# In dependency order: each library finds the ones before it already loaded.
LIBRARIES = ("libggml-base.so", "libggml-cpu.so", "libggml.so", "libllama.so")


def features() -> dict[str, object]:
    """llama-cpp-python's version, GPU offload, device count and llama.cpp's system info line."""
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("llama-cpp-python is not installed")
    folder = os.path.join(next(iter(spec.submodule_search_locations)), "lib")
    lib: ctypes.CDLL | None = None
    for name in LIBRARIES:
        lib = ctypes.CDLL(os.path.join(folder, name), mode=ctypes.RTLD_GLOBAL)
    assert lib is not None
    lib.llama_backend_init()
    lib.llama_print_system_info.restype = ctypes.c_char_p
    lib.llama_supports_gpu_offload.restype = ctypes.c_bool
    lib.llama_max_devices.restype = ctypes.c_size_t
    return {
        "llama_cpp_python": importlib.metadata.version("llama_cpp_python"),
        "gpu_offload": bool(lib.llama_supports_gpu_offload()),
        "max_devices": int(lib.llama_max_devices()),
        "system_info": lib.llama_print_system_info().decode("utf-8", "replace").strip(),
    }


if __name__ == "__main__":
    print(json.dumps(features()))
