// The CI-sized world and pipeline (issue #5's CI): ~400 pretraining steps on 64 scenes, a few
// training steps after. Overrides of configs/quickstart.yaml; every test using them shares one
// world folder in .cache/builtin/ (built by the first, found complete by the others).
export const CI_WORLD = [
  "world.pool_images=16",
  "world.bench_images=16",
  "world.pretrain.train_scenes=64",
  "world.pretrain.align_steps=200",
  "world.pretrain.generator_steps=200",
  "world.pretrain.batch_size=16",
];

export const CI_PIPELINE = [
  ...CI_WORLD,
  "generation.batch_size=16",
  "contrast.steps=8",
  "contrast.checkpoint_every=4",
  "final.budget=24",
  "finetune.steps=8",
  "finetune.checkpoint_every=4",
];
