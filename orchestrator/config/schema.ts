// The ONE config schema: every key with its type, default, constraints and meaning. Defaults,
// validation, `c3l config`, configs/default.yaml and docs/CONFIG.md are all derived from it.
import { SCHEMA as PROTOCOL, type ScoreRequest } from "../protocol/generated.js";
import { BUILTIN_NAMES } from "./builtin-names.js";

/** The score request's fields: the scorer's options are the worker's, declared in the protocol. */
const SCORE_REQUEST = PROTOCOL.messages.score.request;

interface Documented {
  /** What the key means, for docs/CONFIG.md and configs/default.yaml (one or two sentences). */
  doc: string;
}
export interface IntField extends Documented {
  type: "int";
  default: number | null;
  nullable?: true;
  min?: number;
  max?: number;
}
export interface FloatField extends Documented {
  type: "float";
  default: number | null;
  nullable?: true;
  min?: number;
  max?: number;
  /** min itself is not allowed */
  exclusiveMin?: true;
  /** max itself is not allowed */
  exclusiveMax?: true;
}
export interface BoolField extends Documented {
  type: "bool";
  default: boolean;
}
export interface EnumField extends Documented {
  type: "enum";
  values: readonly string[];
  default: string;
}
/** How a relative path is resolved by normalize.ts. */
export type PathBase = "config_dir" | "data_root" | "cwd";
export interface StringField extends Documented {
  type: "string";
  default: string | null;
  nullable?: true;
  /** The value must match; `patternDoc` says how in words. */
  pattern?: RegExp;
  patternDoc?: string;
  /** A file-system path, resolved against this base when relative. */
  path?: PathBase;
  /** Names accepted as `builtin:NAME` instead of a path (assets c3l builds and caches itself). */
  builtins?: readonly string[];
  /** Words accepted as they are instead of a path (never resolved), e.g. evaluate.model: finetuned. */
  keywords?: readonly string[];
}
export interface ListField extends Documented {
  type: "list";
  /** Every item is a non-empty string. */
  items: "string";
  default: readonly string[] | null;
  nullable?: true;
  minItems?: number;
}
/** A mapping of names to non-empty strings (e.g. evaluate.benchmarks: {pope: /data/pope}). */
export interface MapField extends Documented {
  type: "map";
  default: Readonly<Record<string, string>>;
  /** Every value is a file-system path, resolved against this base when relative. */
  path?: PathBase;
  /** Names accepted as `builtin:NAME` values instead of a path. */
  builtins?: readonly string[];
}
/** A list of mappings, each with exactly these fields (e.g. finetune.extra_data: [{json, images}]). */
export interface RecordsField extends Documented {
  type: "records";
  fields: Fields;
  default: readonly [];
}
export interface SectionField extends Documented {
  type: "section";
  fields: Fields;
  /** The section may be null, and is null by default (e.g. contrast.lora: no LoRA). */
  nullable?: true;
  /**
   * Groups of keys of which exactly one must be non-null. Giving one of them a non-null value in
   * the file or an override makes the others default to null, so `contrast.epochs=2` alone works.
   */
  exactlyOne?: readonly (readonly string[])[];
}
export type Field = IntField | FloatField | BoolField | EnumField | StringField | ListField | MapField | RecordsField | SectionField;
export type Fields = { readonly [key: string]: Field };

export const BUILTIN_PREFIX = "builtin:";

export const DEFAULT_PROMPTS = [
  "Look at the image and write {k} different questions about what it shows, each followed by its answer. Use the form Q1: ... A1: ... Q2: ... A2: ...",
  "Write {k} question-answer pairs about this image. Ask about objects, colours, positions and counts that are visible in it. Format: Q: ... A: ...",
  "Describe this image through {k} questions and their answers, one pair per line, as Q: ... A: ...",
] as const;

/**
 * The training settings shared by every training stage (contrast, finetune): how long, the
 * optimizer and its schedule, LoRA, checkpoints. `section` names the section in the docs.
 */
function trainingFields(section: string, defaults: { steps: number | null; epochs: number | null; lr: number }) {
  return {
    steps: { type: "int", default: defaults.steps, nullable: true, min: 1, doc: "Optimizer steps to train (or null and set epochs)." },
    epochs: { type: "int", default: defaults.epochs, nullable: true, min: 1, doc: "Passes over the training examples (or null and set steps)." },
    batch_size: { type: "int", default: 4, min: 1, doc: "Examples per micro-batch." },
    lr: { type: "float", default: defaults.lr, min: 0, exclusiveMin: true, doc: "Peak learning rate (AdamW)." },
    weight_decay: { type: "float", default: 0.0, min: 0, doc: "AdamW weight decay." },
    schedule: { type: "enum", values: ["constant", "linear", "cosine"], default: "cosine", doc: "Learning-rate schedule after warm-up." },
    warmup_steps: { type: "int", default: 0, min: 0, doc: `Linear warm-up steps; at most ${section}.steps.` },
    grad_clip: { type: "float", default: 1.0, min: 0, doc: "Maximum gradient norm; 0 disables clipping." },
    grad_accum_steps: { type: "int", default: 1, min: 1, doc: "Micro-batches per optimizer step." },
    lora: {
      type: "section", nullable: true,
      doc: `LoRA adapters on the language model; null trains the projector and language model in full (the vision tower stays frozen either way). Turn on with ${section}.lora={r: 8} or +${section}.lora.r=8.`,
      fields: {
        r: { type: "int", default: 8, min: 1, doc: "LoRA rank." },
        alpha: { type: "float", default: 16.0, min: 0, exclusiveMin: true, doc: "LoRA scaling α." },
        dropout: { type: "float", default: 0.05, min: 0, max: 1, exclusiveMax: true, doc: "Dropout on the LoRA path." },
        target_modules: { type: "list", items: "string", default: null, nullable: true, minItems: 1, doc: "Module names to adapt; null: the language model's attention projections." },
      },
    },
    checkpoint_every: { type: "int", default: 10, min: 1, doc: "Optimizer steps between checkpoints (a resumed run continues from the last one)." },
    keep_last: {
      type: "int", default: 2, min: 1, nullable: true,
      doc: `Checkpoints of ${section} kept: after each save only the newest keep_last stay (each holds the optimizer state, several GB for a 7B model; two let a damaged newest one fall back to the one before); null keeps every one.`,
    },
  } as const satisfies Fields;
}

export const SCHEMA = {
  seed: { type: "int", default: 0, min: 0, max: 4294967295, doc: "Seed for every random choice: prompt choice, sampling, data order, training." },
  rounds: { type: "int", default: 1, min: 0, doc: "How many times generate → score → select → contrast runs before the final regenerate → rescore → filter; 0: the base generator's data, filtered (no contrastive training)." },
  data: {
    type: "section",
    doc: "The images. Either a folder of images or a JSONL manifest, both under a data root that every image path must stay inside.",
    fields: {
      root: {
        type: "string", default: "builtin:smoke", path: "config_dir", builtins: BUILTIN_NAMES.data,
        doc: "Data root folder (relative to the config file), or builtin:NAME for a data set c3l builds and caches itself. Every image path must resolve inside it.",
      },
      images: {
        type: "string", default: null, nullable: true, path: "data_root",
        doc: "A folder under data.root holding the images (relative to data.root); an image's id is its path relative to this folder, without the extension. Exactly one of images/manifest unless data.root is builtin.",
      },
      manifest: {
        type: "string", default: null, nullable: true, path: "data_root",
        doc: "A JSONL file (relative to data.root) of {\"id\", \"image\"} lines, each image path relative to data.root. Exactly one of images/manifest unless data.root is builtin.",
      },
      limit: { type: "int", default: null, nullable: true, min: 1, doc: "Use only the first N images (sorted by id); null: all." },
    },
  },
  world: {
    type: "section",
    doc: "The embedded synthetic world (used by builtin:world, builtin:world-generator, builtin:world-align and the builtin:world-* benchmarks): seeded scenes with ground truth, benchmarks and two tiny LLaVA models pretrained on CPU. Built by the run's pretrain stage into .cache/builtin/world-<hash of this section>/ and reused by every run with an equal section.",
    fields: {
      seed: { type: "int", default: 0, min: 0, max: 4294967295, doc: "Seed of the world: scenes, benchmarks and pretraining (the run's own seed varies the pipeline, not the world)." },
      pool_images: { type: "int", default: 200, min: 1, doc: "Images the pipeline generates data for (builtin:world)." },
      bench_images: { type: "int", default: 100, min: 1, doc: "Held-out images of the world's benchmarks (POPE, SEED-Bench, MMBench formats)." },
      pretrain: {
        type: "section",
        doc: "Pretraining of the world's models by step budgets (checkpointed: a killed build resumes exactly).",
        fields: {
          train_scenes: { type: "int", default: 3000, min: 1, doc: "Training scenes drawn for pretraining." },
          ground_steps: { type: "int", default: 800, min: 1, doc: "Steps training only the vision tower and projector on the grounding loss (batch 64; cheap: no language-model pass), before align." },
          align_steps: { type: "int", default: 800, min: 1, doc: "Steps of the target checkpoint (builtin:world-align: grounding loss, captions and the seed instruction mix)." },
          generator_steps: { type: "int", default: 800, min: 1, doc: "Steps of the generator (builtin:world-generator) trained from it on instruction data with injected prior-driven pairs." },
          batch_size: { type: "int", default: 16, min: 1, doc: "Examples per pretraining step (align and generator; the grounding steps take 64 images)." },
          hallucination_share: { type: "float", default: 0.2, min: 0, max: 1, doc: "Share of the generator's training pairs that are prior-driven (usually false), the bias C3L is meant to correct." },
          instruct_pairs: { type: "int", default: 3000, min: 0, doc: "Size of the align phase's seed instruction mix: question/answer pairs of every family about training scenes only (existence asked as often with a \"no\" answer, about absent objects of POPE's three kinds), so builtin:world-align can follow instructions before it is tuned; 0: captions only." },
          instruct_share: { type: "float", default: 0.75, min: 0, max: 1, doc: "Share of the align phase's rows drawn from the seed instruction mix (the rest are captions)." },
        },
      },
    },
  },
  generator: {
    type: "section",
    doc: "The vision-language model that writes the data and is trained by the contrast stage.",
    fields: {
      model_dir: {
        type: "string", default: "builtin:smoke-llava", path: "config_dir", builtins: BUILTIN_NAMES.models,
        doc: "A LOCAL transformers checkpoint folder (relative to the config file; never a hub id), or builtin:NAME for a model c3l builds and caches itself.",
      },
      dtype: { type: "enum", values: ["float32", "bfloat16", "float16"], default: "float32", doc: "Weights and compute dtype." },
      device: {
        type: "string", default: "cpu", pattern: /^(cpu|cuda|cuda:\d+)$/, patternDoc: "cpu, cuda or cuda:N",
        doc: "Torch device of the worker.",
      },
    },
  },
  generation: {
    type: "section",
    doc: "How the generator is asked for question/answer pairs.",
    fields: {
      prompts: {
        type: "list", items: "string", default: DEFAULT_PROMPTS, minItems: 1,
        doc: "Pool of prompt templates; one is chosen per image (seeded). {k} is replaced by generation.k.",
      },
      k: { type: "int", default: 5, min: 1, doc: "Question/answer pairs asked for per image." },
      max_new_tokens: { type: "int", default: 96, min: 1, doc: "Token limit per generation; a pair cut off by it is dropped and counted." },
      do_sample: { type: "bool", default: true, doc: "Sample (seeded) instead of greedy decoding." },
      temperature: { type: "float", default: 1.0, min: 0, exclusiveMin: true, doc: "Sampling temperature (with do_sample)." },
      top_p: { type: "float", default: 1.0, min: 0, max: 1, exclusiveMin: true, doc: "Nucleus sampling mass (with do_sample); 1: off." },
      stop: { type: "list", items: "string", default: [], doc: "Stop strings: a generation ends before the first one." },
      batch_size: { type: "int", default: 8, min: 1, doc: "Images per generate request." },
    },
  },
  format: {
    type: "section",
    doc: "What a well-formed question/answer pair of the prompt's format is, and its family. A malformed pair (its question matches no family, or its answer not its family's answer pattern) never enters selection, contrast or the final data; families are kept in the final data by final.family_balance. With no families (the default) every parsed pair is well-formed, of family \"other\". See docs/C3L.md.",
    fields: {
      preset: { type: "enum", values: ["none", "world"], default: "none", doc: "world: the embedded world's templates (py-worker/c3l_worker/world/format.json), instead of format.families." },
      families: {
        type: "records", default: [],
        doc: "Question families in order (the first whose question pattern matches wins): case-insensitive regular expressions over the whitespace-collapsed text.",
        fields: {
          name: { type: "string", default: null, doc: "The family's name (reports count per family)." },
          question: { type: "string", default: null, doc: "A question of this family matches this pattern, e.g. \"^how many\"." },
          answer: { type: "string", default: null, nullable: true, doc: "Its answer must match this pattern; null: any answer." },
        },
      },
      unmatched: { type: "enum", values: ["malformed", "other"], default: "malformed", doc: "A question that matches no family: malformed (dropped), or kept as family \"other\"." },
    },
  },
  scoring: {
    type: "section",
    doc: "The content relevance module: S(A|V), S(A) and S(I2C) for every pair.",
    fields: {
      // The estimators are the worker's: listed and documented once, in the protocol (proto/schema.json).
      estimator: { type: "enum", values: SCORE_REQUEST.estimator.enum, default: "kl", doc: SCORE_REQUEST.estimator.doc },
      withhold: { type: "enum", values: SCORE_REQUEST.withhold.enum, default: "drop", doc: "How the image is withheld for S(A): drop the image tokens, a blank mean-colour image, or image tokens masked out of attention." },
      span: { type: "enum", values: SCORE_REQUEST.span.enum, default: "answer", doc: "Tokens scored: the answer, or question and answer." },
      batch_size: { type: "int", default: 8, min: 1, doc: "Pairs per score request." },
    },
  },
  selection: {
    type: "section",
    doc: "Pseudo-labels for the contrast stage: per image, the pair with the highest I2C is the positive.",
    fields: {
      neg_quantile: { type: "float", default: 0.5, min: 0, max: 1, exclusiveMin: true, exclusiveMax: true, doc: "Negatives are an image's non-positive pairs whose I2C is below this quantile of all I2C values; images without one are skipped and counted." },
      in_batch_negatives: { type: "bool", default: false, doc: "Other images' positives in the batch also serve as negatives." },
      rank_within: { type: "enum", values: ["all", "family"], default: "all", doc: "all: pseudo-labels from the raw I2C; family: from each pair's I2C percentile within its question family (format section), so positives are the best pairs of their family and the contrast stage does not teach the generator to ask only the families whose I2C runs high." },
    },
  },
  contrast: {
    type: "section",
    doc: "Fine-tuning the generator with L = L_LM + lambda_cl · L_CL. Exactly one of steps/epochs is non-null.",
    exactlyOne: [["steps", "epochs"]],
    fields: {
      form: { type: "enum", values: ["infonce_hidden", "infonce_loglik", "preference", "none"], default: "infonce_hidden", doc: "The contrastive loss: InfoNCE over pooled hidden states, InfoNCE over sequence log-likelihoods, a DPO-style preference loss, or none (L_LM only)." },
      tau: { type: "float", default: 0.1, min: 0, exclusiveMin: true, doc: "InfoNCE temperature τ." },
      lambda_cl: { type: "float", default: 0.1, min: 0, doc: "Weight λ of the contrastive loss." },
      beta: { type: "float", default: 0.1, min: 0, exclusiveMin: true, doc: "Preference strength β (form: preference)." },
      projection_head: { type: "bool", default: false, doc: "A linear projection head on the pooled hidden states (infonce_hidden)." },
      ...trainingFields("contrast", { steps: 20, epochs: null, lr: 1.0e-4 }),
    },
  },
  final: {
    type: "section",
    doc: "The final data set, filtered from the regenerated and rescored pairs.",
    fields: {
      budget: { type: "int", default: 5000, min: 1, doc: "Pairs kept (the first ones in final.rank_by order)." },
      rank_by: { type: "enum", values: ["i2c", "random", "none"], default: "i2c", doc: "Which pairs are kept: the top by I2C (C3L), a seeded random subset of equal budget (a control), or the first in image order (none: the base generation)." },
      family_balance: { type: "enum", values: ["none", "proportional", "equal"], default: "none", doc: "none: one ranking over all pairs; proportional: each question family (format section) gets the budget share it has among the well-formed candidates; equal: every family present the same share (a generator that drifted towards some families does not crowd out the others). Each share is filled by rank within the family, so a family whose I2C runs low is not ranked out of the data; budget a family cannot use goes to the others by rank." },
      per_image_cap: { type: "int", default: null, nullable: true, min: 1, doc: "At most this many pairs per image; null: no cap." },
      dedup: { type: "bool", default: true, doc: "Drop exact duplicate (image, question, answer) pairs." },
    },
  },
  finetune: {
    type: "section",
    doc: "Instruction-tuning a target model on the final dataset (the paper's evaluation protocol): loss on answer tokens only, vision tower frozen, full or LoRA. Runs after filter when enabled. Exactly one of steps/epochs is non-null.",
    exactlyOne: [["steps", "epochs"]],
    fields: {
      enabled: { type: "bool", default: false, doc: "Run the finetune stage." },
      model_dir: {
        type: "string", default: null, nullable: true, path: "config_dir", builtins: BUILTIN_NAMES.models,
        doc: "The target model: a LOCAL transformers checkpoint folder (relative to the config file) or builtin:NAME; null: the run's base generator (generator.model_dir, not the contrast-trained one).",
      },
      extra_data: {
        type: "records", default: [],
        doc: "Other LLaVA-format conversation JSON files mixed into the training data, each with the folder its image paths are relative to (both relative to the config file).",
        fields: {
          json: { type: "string", default: null, path: "config_dir", doc: "A LLaVA conversation JSON file ([{id, image, conversations}])." },
          images: { type: "string", default: null, path: "config_dir", doc: "The folder its records' image paths are relative to." },
        },
      },
      ...trainingFields("finetune", { steps: null, epochs: 1, lr: 2.0e-5 }),
      seed: { type: "int", default: null, nullable: true, min: 0, max: 4294967295, doc: "Seed of the data order and training; null: the run's seed." },
      weight_by: { type: "enum", values: ["none", "i2c"], default: "none", doc: "Per-example loss weights for the final dataset's pairs: none (all 1) or i2c (by the pair's I2C rank within the final data, see weight_spread; finetune.extra_data weighs 1)." },
      weight_spread: { type: "float", default: 0.5, min: 0, max: 1, doc: "With weight_by i2c, weight = 1 + spread·(2·rank/(n−1) − 1): the lowest-I2C pair weighs 1 − spread, the highest 1 + spread, the mean is 1 (ties share their mean rank)." },
    },
  },
  evaluate: {
    type: "section",
    doc: "Benchmarks run on a model after filter (and finetune); runs when evaluate.benchmarks is non-empty. Every raw prediction is cached per question id, so an interrupted evaluation resumes.",
    fields: {
      benchmarks: {
        type: "map", default: {}, path: "config_dir", builtins: BUILTIN_NAMES.benchmarks,
        doc: "Benchmark name → its file or folder in its published format (relative to the config file), e.g. {pope: /data/pope}, or a world benchmark ({pope: builtin:world-pope, seed: builtin:world-seed, mmbench: builtin:world-mmbench}, whose image folder and protocol options are supplied).",
      },
      model: {
        type: "string", default: null, nullable: true, path: "config_dir", keywords: ["finetuned", "generator", "base", "target"],
        doc: "The model evaluated: finetuned (the finetune stage's export), generator (the contrast-trained generator), base (generator.model_dir), target (finetune.model_dir untuned: the start the finetuned target is measured against), or a local checkpoint folder; null: finetuned when finetune.enabled, else generator.",
      },
      untuned: { type: "bool", default: false, doc: "Also evaluate finetune.model_dir untuned (when the finetuned target is evaluated): metrics untuned.<bench>.<metric>, the start the tuned target is measured against. A builtin target's untuned predictions are cached beside its world and shared by every run of it." },
      options: { type: "map", default: {}, doc: "Benchmark options passed to the evaluators as name → value strings (e.g. a SEED-Bench protocol)." },
      max_new_tokens: { type: "int", default: 16, min: 1, doc: "Token limit per generated answer." },
    },
  },
  worker: {
    type: "section",
    doc: "The Python worker process.",
    fields: {
      threads: { type: "int", default: 1, min: 1, doc: "Torch intra-op threads (more than one was measured 10–50× slower on 2 cores)." },
      request_timeout_s: { type: "float", default: 600, min: 0, exclusiveMin: true, doc: "Seconds a request may take before the worker is presumed hung and restarted." },
      start_timeout_s: { type: "float", default: 120, min: 0, exclusiveMin: true, doc: "Seconds the worker may take to start and answer its handshake." },
      max_attempts: { type: "int", default: 3, min: 1, doc: "Tries per batch before its samples are recorded as failed and the run goes on." },
    },
  },
  workers: {
    type: "section",
    doc: "The workers that generate and score: each batch goes to whichever worker is free; a dead or hung worker's batches go to the others. Training stages use worker 0 (the first local one, else the first remote one). The final dataset is identical to a one-worker run.",
    fields: {
      local: { type: "int", default: 1, min: 0, doc: "Worker processes started on this host (each loads the generator)." },
      devices: {
        type: "list", items: "string", default: [],
        doc: "CUDA devices for the local workers, e.g. [cuda:0, cuda:1]: local worker i sees only devices[i mod N] (CUDA_VISIBLE_DEVICES) and uses it as cuda:0. Empty: every local worker uses generator.device with worker.threads threads.",
      },
      remote: {
        type: "records", default: [],
        doc: "Workers started elsewhere with `c3l worker --bind` (docs/REMOTE.md), reached over CurveZMQ; each loads the generator on the device it was started with, from paths as its own host sees them. A remote worker that fails is dropped with a warning (never restarted); its batches go to the others.",
        fields: {
          endpoint: { type: "string", default: null, pattern: /^tcp:\/\/[^\s:]+:\d+$/, patternDoc: "tcp://HOST:PORT", doc: "Where the worker listens." },
          server_key: { type: "string", default: null, path: "config_dir", doc: "That worker's public CURVE certificate (from `c3l keys`), relative to the config file." },
        },
      },
      client_key: {
        type: "string", default: null, nullable: true, path: "config_dir",
        doc: "Our secret CURVE certificate (from `c3l keys`), relative to the config file; required when workers.remote is non-empty.",
      },
      in_flight: { type: "int", default: 1, min: 1, doc: "Batches sent to one worker before it answers (it runs them one at a time; 2 hides the round trip to a remote worker)." },
    },
  },
  distributed: {
    type: "section",
    doc: "Training across processes: with more than one rank in all (nproc_per_node × nnodes), the contrast and finetune stages train in a worker started under torchrun, with DDP; rank 0 talks to c3l (docs/DISTRIBUTED.md). Generation and scoring are not affected.",
    fields: {
      nproc_per_node: { type: "int", default: 1, min: 1, doc: "Ranks on this host (torchrun --nproc_per_node): one per GPU, or CPU processes with gloo. 1 with nnodes 1: no torchrun." },
      nnodes: { type: "int", default: 1, min: 1, doc: "Hosts taking part. This host is node 0 (it holds global rank 0, which serves c3l); start every other node yourself with the torchrun command c3l logs, with its --node_rank." },
      rdzv_endpoint: {
        type: "string", default: null, nullable: true, pattern: /^[^\s:]+:\d+$/, patternDoc: "HOST:PORT",
        doc: "HOST:PORT on this host that the other nodes reach for the static rendezvous (torchrun --rdzv_endpoint); required when nnodes > 1. null with nnodes 1: a private local rendezvous (torchrun --standalone).",
      },
      backend: { type: "enum", values: ["auto", "gloo", "nccl"], default: "auto", doc: "torch.distributed backend: auto picks nccl when generator.device is cuda, else gloo (CPU)." },
      strategy: { type: "enum", values: ["ddp", "fsdp"], default: "ddp", doc: "ddp: every rank holds the whole model and gradients are averaged. fsdp: FSDP2 shards parameters, gradients and optimizer state over the ranks (for a model too big for one GPU); checkpoints and exports stay full and unsharded. fsdp refuses lora (use ddp with LoRA); the preference form's reference copy stays a full copy on every rank. fsdp is tested on CPU with gloo only (NCCL/GPU untested); see docs/DISTRIBUTED.md." },
      timeout_s: { type: "float", default: 600, min: 0, exclusiveMin: true, doc: "Seconds a collective inside one request may wait for another rank before the request fails." },
    },
  },
  runs_dir: {
    type: "string", default: "runs", path: "cwd",
    doc: "Where run folders are created; relative to the current directory (not the config file).",
  },
} as const satisfies Fields;

/** `builtin:NAME` values accepted per key, e.g. {"data.root": ["smoke"]}. */
export const BUILTINS: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  walkFields(SCHEMA).flatMap(([path, field]) => (field.type === "string" && field.builtins ? [[path, field.builtins]] : [])),
);

/** Every field with its dotted path, depth first in schema order (sections before their fields). */
export function walkFields(fields: Fields, prefix = ""): [string, Field][] {
  return Object.entries(fields).flatMap(([key, field]): [string, Field][] => {
    const path = prefix ? `${prefix}.${key}` : key;
    return field.type === "section" ? [[path, field], ...walkFields(field.fields, path)] : [[path, field]];
  });
}

export type Dtype = "float32" | "bfloat16" | "float16";
export interface LoraConfig {
  r: number;
  alpha: number;
  dropout: number;
  target_modules: string[] | null;
}

/** The resolved config: every key present, paths absolute (or builtin:NAME). Mirrors SCHEMA (checked below). */
export interface C3lConfig {
  seed: number;
  rounds: number;
  data: { root: string; images: string | null; manifest: string | null; limit: number | null };
  world: WorldConfig;
  generator: { model_dir: string; dtype: Dtype; device: string };
  generation: {
    prompts: string[];
    k: number;
    max_new_tokens: number;
    do_sample: boolean;
    temperature: number;
    top_p: number;
    stop: string[];
    batch_size: number;
  };
  format: { preset: "none" | "world"; families: { name: string; question: string; answer: string | null }[]; unmatched: "malformed" | "other" };
  scoring: { estimator: NonNullable<ScoreRequest["estimator"]>; withhold: NonNullable<ScoreRequest["withhold"]>; span: NonNullable<ScoreRequest["span"]>; batch_size: number };
  selection: { neg_quantile: number; in_batch_negatives: boolean; rank_within: "all" | "family" };
  contrast: Flat<{
    form: "infonce_hidden" | "infonce_loglik" | "preference" | "none";
    tau: number;
    lambda_cl: number;
    beta: number;
    projection_head: boolean;
  } & TrainingConfig>;
  final: { budget: number; rank_by: "i2c" | "random" | "none"; family_balance: "none" | "proportional" | "equal"; per_image_cap: number | null; dedup: boolean };
  finetune: Flat<{
    enabled: boolean;
    model_dir: string | null;
    extra_data: { json: string; images: string }[];
  } & TrainingConfig & { seed: number | null; weight_by: "none" | "i2c"; weight_spread: number }>;
  evaluate: { benchmarks: Record<string, string>; model: string | null; untuned: boolean; options: Record<string, string>; max_new_tokens: number };
  worker: { threads: number; request_timeout_s: number; start_timeout_s: number; max_attempts: number };
  workers: { local: number; devices: string[]; remote: { endpoint: string; server_key: string }[]; client_key: string | null; in_flight: number };
  distributed: { nproc_per_node: number; nnodes: number; rdzv_endpoint: string | null; backend: "auto" | "gloo" | "nccl"; strategy: "ddp" | "fsdp"; timeout_s: number };
  runs_dir: string;
}

/** The world section: passed as-is to the worker's build_world operation (its params). */
export interface WorldConfig {
  seed: number;
  pool_images: number;
  bench_images: number;
  pretrain: { train_scenes: number; ground_steps: number; align_steps: number; generator_steps: number; batch_size: number; hallucination_share: number; instruct_pairs: number; instruct_share: number };
}

/** An intersection as one object type (so the schema check below compares like with like). */
type Flat<T> = { [K in keyof T]: T[K] };

/** The training settings every training stage shares (trainingFields above). */
export interface TrainingConfig {
    steps: number | null;
    epochs: number | null;
    batch_size: number;
    lr: number;
    weight_decay: number;
    schedule: "constant" | "linear" | "cosine";
    warmup_steps: number;
    grad_clip: number;
    grad_accum_steps: number;
    lora: LoraConfig | null;
    checkpoint_every: number;
    keep_last: number | null;
}

// The interface above must equal the type the schema describes: tsc fails here when they drift.
type Nullable<F, T> = F extends { nullable: true } ? T | null : T;
type InferField<F> =
  F extends { type: "section"; fields: infer S } ? Nullable<F, { -readonly [K in keyof S]: InferField<S[K]> }> :
  F extends { type: "int" | "float" } ? Nullable<F, number> :
  F extends { type: "bool" } ? boolean :
  F extends { type: "enum"; values: readonly (infer V)[] } ? V :
  F extends { type: "string" } ? Nullable<F, string> :
  F extends { type: "list" } ? Nullable<F, string[]> :
  F extends { type: "map" } ? Record<string, string> :
  F extends { type: "records"; fields: infer S } ? { -readonly [K in keyof S]: InferField<S[K]> }[] :
  never;
type SchemaType = InferField<{ type: "section"; fields: typeof SCHEMA }>;
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
const interfaceMatchesSchema: Equal<C3lConfig, SchemaType> = true;
void interfaceMatchesSchema;
