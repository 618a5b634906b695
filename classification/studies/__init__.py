"""Studies built on the classifier: the blocks at matched MACs (``block_study``) and a recipe over seeds
(``seeds``)."""
