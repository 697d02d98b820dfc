"""The data: Fashion-MNIST found and verified (:mod:`.fashion_mnist`, :mod:`.idx`), the
paper's protocols and label draws (:mod:`.protocols`, :mod:`.splits`) and users' own images
(:mod:`.images`).
"""
