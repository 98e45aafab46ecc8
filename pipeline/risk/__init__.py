"""Disclosure risk: frequencies, individual/global/household risk, l-diversity, suppression.

Everything here works on whole-file numpy arrays (key variables encoded as integer codes), so
every figure is global by construction, never per partition. Only numpy is imported, so the
``anonymize risk`` command starts fast.
"""
