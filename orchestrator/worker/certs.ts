// CurveZMQ keys in ZeroMQ's certificate files (the text format pyzmq's zmq.auth and czmq read and write):
// NAME.key holds the public key, NAME.key_secret both keys; keys are 40-character Z85 strings.
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { curveKeyPair } from "zeromq";
import { CertificateError } from "./errors.js";

export interface Certificate {
  file: string;
  publicKey: string;
  secretKey: string | null;
}

export interface CertificatePair {
  /** NAME.key: give it to the other side (a worker's --authorized-keys folder, or a client's serverPublicKey). */
  publicFile: string;
  /** NAME.key_secret (mode 0600): stays on this machine. */
  secretFile: string;
  publicKey: string;
}

const Z85_KEY = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function isZ85Key(value: string): boolean {
  return Z85_KEY.test(value);
}

/** Reads a certificate file the way pyzmq's zmq.auth.load_certificate does. */
export function readCertificate(file: string): Certificate {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new CertificateError(`cannot read the key file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const value = (key: string): string | null => {
    for (const raw of text.split("\n")) {
      const line = raw.trim();
      if (line.startsWith("#") || !line.startsWith(key)) continue;
      const found = line.slice(line.indexOf("=") + 1).trim().replace(/^["']|["']$/g, "");
      if (!isZ85Key(found)) throw new CertificateError(`${file}: ${key} is not a 40-character Z85 key`);
      return found;
    }
    return null;
  };
  const publicKey = value("public-key");
  if (publicKey === null) throw new CertificateError(`${file}: no public-key line; not a ZeroMQ certificate (make one with \`c3l keys\`)`);
  return { file, publicKey, secretKey: value("secret-key") };
}

/** A secret certificate (NAME.key_secret): both keys, for a CURVE client or server socket. */
export function readSecretCertificate(file: string): Certificate & { secretKey: string } {
  const cert = readCertificate(file);
  if (cert.secretKey === null) {
    throw new CertificateError(`${file} holds only a public key: pass the secret certificate (NAME.key_secret) written beside it by \`c3l keys\``);
  }
  return cert as Certificate & { secretKey: string };
}

/** A public key given as Z85 text or as the path of a certificate file. */
export function publicKeyFrom(value: string): string {
  if (isZ85Key(value) && !existsSync(value)) return value;
  return readCertificate(value).publicKey;
}

/** Generates a key pair and writes NAME.key and NAME.key_secret (0600) into `dir`; refuses to overwrite unless `force`. */
export function writeCertificatePair(dir: string, name: string, options: { force?: boolean } = {}): CertificatePair {
  if (!NAME.test(name)) throw new CertificateError(`key name ${JSON.stringify(name)}: use letters, digits, '.', '_' or '-' (it becomes NAME.key)`);
  const folder = resolve(dir);
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const publicFile = join(folder, `${name}.key`);
  const secretFile = join(folder, `${name}.key_secret`);
  const existing = [publicFile, secretFile].filter((f) => existsSync(f));
  if (existing.length > 0 && !options.force) {
    throw new CertificateError(`${existing.join(" and ")} already exist${existing.length === 1 ? "s" : ""}: pass --force to replace the key pair (clients or workers holding the old public key will be refused)`);
  }
  const { publicKey, secretKey } = curveKeyPair();
  const stamp = new Date().toISOString();
  const header = (kind: string, advice: string) => `#   ****  Generated on ${stamp} by c3l keys  ****\n#   ZeroMQ CURVE ${kind}\n${advice}\nmetadata\ncurve\n    public-key = "${publicKey}"\n`;
  // Secret first: a public file never exists without its secret.
  place(secretFile, `${header("**Secret** Certificate", "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n")}    secret-key = "${secretKey}"\n`, 0o600, options.force);
  place(publicFile, header("Public Certificate", "#   Give this file to the peer: a worker's --authorized-keys folder, or a client's server key.\n"), 0o644, options.force);
  return { publicFile, secretFile, publicKey };
}

/** Writes a temp file with its final mode, then links (refuses an existing file, atomically) or renames (replaces) it. */
function place(file: string, content: string, mode: number, force = false): void {
  const temp = `${file}.${randomBytes(4).toString("hex")}.tmp`;
  writeFileSync(temp, content, { mode, flag: "wx" });
  chmodSync(temp, mode); // the umask may have narrowed or, for the public file, we may want it readable
  try {
    if (force) renameSync(temp, file);
    else linkSync(temp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") throw new CertificateError(`${file} already exists: pass --force to replace it`);
    throw err;
  } finally {
    rmSync(temp, { force: true });
  }
}
