"""The demo data generators (``anonymize demo-data``): synthetic census and survey records."""
