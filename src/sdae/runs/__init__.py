"""One module per command: data -> training -> evaluation -> files in a run folder
(``dae``, ``sae``, ``baseline``, ``semi``, ``denoise``).
"""
