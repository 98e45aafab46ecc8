"""The data-quality gate: contracts and privacy expectations, all checked before publishing.

Each module of the gate that declares kinds of check (``pipeline.gate.catalog``) is imported
when the catalogue is first read (``catalog.loaded``), not here: a run imports the gate's GX
worker first thing, to start its process before the run's own imports, and that import stays
light (the declaring modules bring pandas and the contracts: 0.8 s).
"""
