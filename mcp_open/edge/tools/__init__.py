"""The MCP tools and the info resource, one module each: registration beside description and annotations."""
