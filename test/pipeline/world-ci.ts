// The CI-sized world and pipeline (issue #5's CI): 550 language-model pretraining steps of batch 16
// (150 align + 400 generator, after 600 cheap grounding steps of the vision side), 16 pipeline
// scenes, a few training steps after; the build takes ~2.5 min on a quiet 2-core machine.
// Overrides of configs/quickstart.yaml; every test using them shares one
// world folder in .cache/builtin/ (built by the first, found complete by the others).
export const CI_WORLD = [
  "world.pool_images=16",
  "world.bench_images=32",
  "world.pretrain.train_scenes=1000",
  "world.pretrain.ground_steps=600",
  "world.pretrain.align_steps=150",
  "world.pretrain.generator_steps=400",
  "world.pretrain.batch_size=16",
  // The seed instruction mix is drawn (and recorded) but not trained on: with 150 align steps, a
  // 75 % mix left the CI generator blind to colour (0.31 with the image = 0.31 blind) where
  // captions alone keep it looking (0.50 vs 0.25). The mix itself: py-worker/tests/test_world_instruct.py.
  "world.pretrain.instruct_share=0",
];

export const CI_PIPELINE = [
  ...CI_WORLD,
  "generation.batch_size=16",
  "contrast.steps=8",
  "contrast.checkpoint_every=4",
  "final.budget=24",
  "finetune.epochs=null",
  "finetune.steps=8",
  "finetune.checkpoint_every=4",
];
