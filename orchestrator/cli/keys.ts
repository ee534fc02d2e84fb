import { writeCertificatePair } from "../worker/certs.js";
import { EXIT } from "../errors.js";

/** Writes a CurveZMQ key pair as ZeroMQ certificates and prints their paths (and the public key) as JSON. */
export async function keys(options: { out: string; name: string; force: boolean }): Promise<number> {
  const pair = writeCertificatePair(options.out, options.name, { force: options.force });
  process.stdout.write(`${JSON.stringify({ public: pair.publicFile, secret: pair.secretFile, public_key: pair.publicKey }, null, 2)}\n`);
  return EXIT.ok;
}
