// The run store: run folders (ids, atomic files, append-only samples, state, events, manifest, summary), listing and comparing runs.
export { writeFileAtomic, writeJsonAtomic } from "./atomic.js";
export { buildComparison, loadCompareRun, formatNumber, type Change, type CompareColumn, type CompareRow, type CompareRun, type CompareTable } from "./compare.js";
export { RunArgumentError, RunLockedError, RunStoreError } from "./errors.js";
export { EventLog, type EventReadResult, type LoggedEvent, type RunEvent, type RunEventType } from "./events.js";
export { canonicalJson, diffConfig, flattenConfig, getDotted, hashConfig, type FlatValue } from "./flatten.js";
export { renderComparison, type CompareFormat } from "./format.js";
export { diffInputs, hashInput, hashModelDir, hashPath, type InputFingerprint, type InputKind, type InputSpec } from "./inputs.js";
export { SampleFile, type SampleReadResult, type SampleRecord, type TornLine } from "./jsonl.js";
export { acquireLock, isLockLive, readLock, type LockInfo } from "./lock.js";
export { buildManifest, checkInputs, readManifest, type BuildManifestOptions, type Manifest } from "./manifest.js";
export { buildProvenance, type BuildProvenance } from "./provenance.js";
export { createRun, DEFAULT_RUNS_DIR, isRunDir, openRun, RunFolder, runIds, type CreateRunOptions, type RunPaths, type SummaryPatch } from "./run-folder.js";
export { newRunId, parseRunId, RUN_ID_PATTERN, sanitizeRunName } from "./run-id.js";
export { compareStages, sortStages } from "./stage-names.js";
export { readStageState, readStageStates, writeStageState, type StageState, type StageStatus } from "./state.js";
export { filterRuns, listRuns, parseRunFilter, type ListedStatus, type RunFilter, type RunListing } from "./store.js";
export { i2cStats, quantile, readSummary, writeSummary, type I2CStats, type RunStatus, type RunSummary, type StageSummary } from "./summary.js";
