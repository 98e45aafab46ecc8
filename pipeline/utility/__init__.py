"""Information loss: what the protection cost, measured over the whole file.

``spec`` is the recipe's ``utility:`` section (limits the gate enforces), ``aggregate`` the lazy
whole-file aggregates a run (or ``anonymize utility``) computes over each record's values before
and after the steps, ``measures`` the figures computed from them (pure numpy/pandas) and
``model`` their pydantic models (part of ``manifest.json`` and ``risk_report.json``).
"""
