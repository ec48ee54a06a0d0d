"""Model worker processes: each loaded llama.cpp model runs in a process the server starts, watches and ends.

`proxy.WorkerEngine` is the engine protocol in the server; `main` is the worker's entry point and the only module
that imports the llama.cpp engine. A native crash there costs one call its answer, never the server.
"""
