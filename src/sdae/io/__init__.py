"""What sdae writes: files written atomically and run folders swapped into place
(:mod:`.outputs`), checkpoints (:mod:`.checkpoints`) and figures (:mod:`.figures`).
"""
