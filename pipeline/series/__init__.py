"""Release series: nightly releases of mostly the same people, judged together.

``state`` keeps what every earlier release showed of each person (keyed fingerprints, never an
id); ``merge`` works out the attacker's merged view and what to suppress or withhold so that it
keeps k; the engine (``pipeline.engine.series_record``) builds the next state and the merged view.
"""
