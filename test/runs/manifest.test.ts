import { describe, expect, test } from "@jest/globals";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildManifest, checkInputs } from "../../orchestrator/runs/manifest.js";
import type { HelloReply } from "../../orchestrator/protocol/index.js";
import { tempDir } from "./helpers.js";

const hello: HelloReply = {
  protocol_version: "1.0", worker_version: "0.1.0", python_version: "3.11.9", torch_version: "2.13.0", transformers_version: "5.17.0",
  device: "cpu", cuda_device_count: 0, num_threads: 1, model_families: ["llava"], ops: ["hello"], pid: 1, max_frame_bytes: 1,
};

describe("manifest", () => {
  test("records argv, code, versions, host, seed, device, a key-order-independent config hash and input fingerprints", () => {
    const data = join(tempDir(), "images");
    mkdirSync(data);
    writeFileSync(join(data, "a.png"), "a");
    const m = buildManifest({
      argv: ["run", "configs/smoke.yaml"], config: { b: 1, a: { y: 2, x: 1 } }, seed: 7, device: "cpu", workerHello: hello,
      inputs: { data: { path: data, kind: "data" } }, now: new Date("2025-03-01T00:00:00Z"),
    });
    expect(m.git_commit).toMatch(/^[0-9a-f]{40}$/); // this checkout is a git repository
    expect(typeof m.git_dirty).toBe("boolean");
    expect(m.c3l_version).toMatch(/^\d+\.\d+\.\d+/);
    expect(m.versions).toEqual({ node: process.version, python: "3.11.9", torch: "2.13.0", transformers: "5.17.0", worker: "0.1.0", protocol: "1.0" });
    expect(m).toMatchObject({ seed: 7, device: "cpu", argv: ["run", "configs/smoke.yaml"], created_at: "2025-03-01T00:00:00.000Z" });
    expect(m.host.cpus).toBeGreaterThan(0);
    expect(m.inputs.data?.files).toBe(1);
    const reordered = buildManifest({ argv: [], config: { a: { x: 1, y: 2 }, b: 1 }, seed: 7, device: "cpu", inputs: {} });
    expect(reordered.config_sha256).toBe(m.config_sha256);
    expect(reordered.versions.torch).toBeNull();
    expect(buildManifest({ argv: [], config: { a: 1 }, seed: 0, device: "cpu", inputs: {} }).config_sha256).not.toBe(m.config_sha256);

    expect(checkInputs(m)).toEqual([]);
    writeFileSync(join(data, "b.png"), "b");
    expect(checkInputs(m)).toEqual([`data (${data}): 1 added (b.png)`]);
  });

  test("outside a git repository the commit is null", () => {
    const m = buildManifest({ argv: [], config: {}, seed: 0, device: "cpu", inputs: {}, repoDir: tempDir() });
    expect(m.git_commit).toBeNull();
    expect(m.git_dirty).toBeNull();
  });
});
