"""Disclosure risk: frequencies, individual/global/household risk, l-diversity, suppression.

Every figure is whole-file by construction (key variables encoded as integer codes over the
whole file, streamed in bounded memory where the file is large), never per partition.
"""

K_MAX = 100_000  # the largest k accepted anywhere (recipes, steps, ``anonymize risk --k``)
