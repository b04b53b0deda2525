import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, posix, relative, sep } from 'node:path';
import { readTree } from '../publish/upload.ts';
import type { Tree } from '../publish/upload.ts';
import { BuildFailure } from './build-failure.ts';

/**
 * The files of a build's output directory, as `slipway deploy` would read them (regular files;
 * a symlink to a file is copied; `readTree` documents the rest), with the build's stricter
 * boundary: the output must be inside the checkout, and so must every symlink in it. A build
 * could otherwise publish the runner machine's files (`output: ../..`, `ln -s ~/.ssh dist/x`).
 */
export async function collectOutput(checkout: string, output: string): Promise<Tree> {
  const normalized = posix.normalize(output.replaceAll('\\', '/'));
  if (isAbsolute(output) || posix.isAbsolute(normalized) || normalized === '..' || normalized.startsWith('../')) {
    throw new BuildFailure(`output "${output}" escapes the checkout: use a path inside the repository`);
  }
  const realCheckout = await realpath(checkout);
  let realOutput: string;
  try {
    realOutput = await realpath(join(realCheckout, normalized));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new BuildFailure(`output directory "${output}" does not exist${output === '.' ? '' : ': did the build command write it?'}`);
    }
    throw err;
  }
  if (!isInside(realCheckout, realOutput)) {
    throw new BuildFailure(`output "${output}" is a symlink to outside the checkout`);
  }
  if (!(await stat(realOutput)).isDirectory()) throw new BuildFailure(`output "${output}" is not a directory`);
  const prefix = normalized === '.' ? '' : `${normalized.replace(/\/$/, '')}/`;
  return readTree(realOutput, {
    boundary: realCheckout,
    outside: (path) => new BuildFailure(`${prefix}${path} is a symlink to outside the checkout; refusing to deploy it`),
  });
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}
