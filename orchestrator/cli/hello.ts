import { Worker } from "../worker/index.js";
import { EXIT } from "../errors.js";

export async function hello(options: { threads: number }): Promise<number> {
  const worker = await Worker.start({ threads: options.threads });
  try {
    process.stdout.write(`${JSON.stringify(worker.hello, null, 2)}\n`);
  } finally {
    await worker.stop();
  }
  return EXIT.ok;
}
