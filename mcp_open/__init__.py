"""mcp-open: local GGUF Qwen models behind the Model Context Protocol."""

__version__ = "0.1.0"
