"""``sdae reproduce``: the paper's experiments as data (:mod:`.plan`, :mod:`.presets`,
:mod:`.ladder`), running them resumably (:mod:`.runner`, :mod:`.experiments`), and the report
(:mod:`.tables`, :mod:`.render`, with the paper's numbers in :mod:`.paper`).
"""
