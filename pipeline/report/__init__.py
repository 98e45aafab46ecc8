"""The risk report for auditors: ``OUT/risk_report.json`` (schema in schemas/) and ``.html``."""
