"""The engine: reads input, runs steps on dask, writes and publishes atomically."""
