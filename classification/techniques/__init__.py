"""Compression techniques on ShuffleNetV1: layer and channel pruning (``prune``, ``channels``), group decomposition
(``decompose``), low-rank group 1x1 convs (``lowrank``), unstructured sparsity (``sparsity``) and knowledge
distillation (``distill``)."""
