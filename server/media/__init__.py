"""Media: SSRF-safe downloads, the URL guard, local input images."""
