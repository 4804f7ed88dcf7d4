"""The MCP face: tool schemas and handlers, resources, the tasks extension, rendering, progress."""
