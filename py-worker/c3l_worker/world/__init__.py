"""The embedded synthetic world: seeded scenes with ground truth, templated language, a grader,
benchmarks in their published formats and the pretraining of its tiny LLaVA models.

One implementation of the scene generator, in Python; the orchestrator reads what it writes.
"""
