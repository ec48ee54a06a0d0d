"""Benchmarks: mcp-open through MCP side by side with direct llama-cpp-python."""
