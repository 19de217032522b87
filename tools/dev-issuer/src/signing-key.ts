import { randomUUID } from 'node:crypto';
import { chmod, link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';

/** The issuer's RS256 key: the private half signs, the public JWK is published at /jwks. */
export interface SigningKey {
  /** RFC 7638 thumbprint of the public key. */
  kid: string;
  privateKey: CryptoKey;
  /** What /jwks publishes: the public members plus kid, alg and use. */
  publicJwk: JWK;
  /** The file that keeps it across restarts; undefined when it lives in memory only. */
  file?: string;
}

export const ALGORITHM = 'RS256';

/** Raised when a persisted key cannot be used; the message says which file and what to do. */
export class SigningKeyError extends Error {
  override name = 'SigningKeyError';
}

/**
 * The key persisted under `<stateDir>/dev-issuer/signing-key.json` (created on first use, mode
 * 0600 in a 0700 folder), so tokens signed before a restart still verify after it; without a
 * state dir, a new key in memory.
 */
export async function loadOrCreateSigningKey(stateDir?: string): Promise<SigningKey> {
  if (stateDir === undefined) return fromPrivateJwk(await generatePrivateJwk());
  const dir = join(stateDir, 'dev-issuer');
  const file = join(dir, 'signing-key.json');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700); // mkdir's mode only applies to a folder it creates
  const existing = await readPrivateJwk(file);
  if (existing) return { ...(await fromPrivateJwk(existing, file)), file };
  const jwk = await generatePrivateJwk();
  // Written aside, then linked into place: link fails if the file exists, so two issuers starting
  // on the same state dir at once end up with the one key that won, never half of a file.
  const tmp = `${file}.${randomUUID()}.tmp`;
  await writeFile(tmp, `${JSON.stringify(jwk, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  try {
    await link(tmp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await unlink(tmp);
  }
  const persisted = await readPrivateJwk(file);
  if (!persisted) throw new SigningKeyError(`${file} vanished while it was being created`);
  return { ...(await fromPrivateJwk(persisted, file)), file };
}

async function generatePrivateJwk(): Promise<JWK> {
  const { privateKey } = await generateKeyPair(ALGORITHM, { extractable: true });
  return exportJWK(privateKey);
}

async function readPrivateJwk(file: string): Promise<JWK | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SigningKeyError(`cannot read the signing key ${file}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text) as JWK;
  } catch {
    throw unusable(file, 'it is not JSON');
  }
}

async function fromPrivateJwk(jwk: JWK, file?: string): Promise<SigningKey> {
  const { kty, n, e, d } = jwk;
  if (kty !== 'RSA' || typeof n !== 'string' || typeof e !== 'string' || typeof d !== 'string') {
    throw unusable(file, 'it is not an RSA private JWK');
  }
  let privateKey: CryptoKey;
  try {
    privateKey = (await importJWK({ ...jwk, alg: ALGORITHM }, ALGORITHM)) as CryptoKey;
  } catch (error) {
    throw unusable(file, (error as Error).message);
  }
  const kid = await calculateJwkThumbprint({ kty, n, e }, 'sha256');
  return { kid, privateKey, publicJwk: { kty, n, e, kid, alg: ALGORITHM, use: 'sig' } };
}

function unusable(file: string | undefined, why: string): SigningKeyError {
  return new SigningKeyError(
    `the signing key ${file} is unusable (${why}); delete it and a new key is generated on the next start`,
  );
}
