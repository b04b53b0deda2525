import { resolve } from 'node:path';
import { validateManifest } from '../../core/manifest.ts';
import type { Deployment, DeploymentMeta } from '../../protocol/api.ts';
import { connect, requireProject } from '../context.ts';
import type { Command } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { findGitMeta } from '../git.ts';
import { formatBytes, plural } from '../output.ts';
import { createProgress } from '../progress.ts';
import { hashTree, readTree, uploadMissing } from '../../publish/upload.ts';

export interface DeployOptions {
  dir: string;
  project?: string | undefined;
  spa?: boolean | undefined;
  message?: string | undefined;
  json?: boolean | undefined;
}

/** `--json` prints the deployment with what this upload had to send. */
export interface DeployResult extends Deployment {
  upload: { id: string; files: number; missing: string[]; uploadedBytes: number };
}

const CONCURRENCY = 8;
const ATTEMPTS = 3;

/**
 * Plan, then apply: read and hash the tree and validate its manifest (nothing leaves the
 * machine if that fails), then create the upload, send only the blobs the server lacks, and
 * finalize. Human output ends with the deployment URL alone on the last line.
 */
export const deploy: Command<DeployOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const root = resolve(ctx.cwd, options.dir);
  const showProgress = !options.json;

  const tree = await readTree(root);
  for (const warning of tree.warnings) ctx.out.warn(warning);
  const treeBytes = tree.files.reduce((sum, f) => sum + f.size, 0);
  const hashing = createProgress(ctx.out.stderr, 'hashing  ', tree.files.length, treeBytes, showProgress);
  const files = await hashTree(tree.files, CONCURRENCY, hashing);
  hashing.done();
  const manifest = validateManifest(files);

  const meta: DeploymentMeta = { source: 'cli', ...(await findGitMeta(root)) };
  if (options.message !== undefined) meta.message = options.message;
  if (options.spa) meta.spa = true;

  const client = await connect(ctx);
  const upload = await client.createUpload(project, { files: manifest.entries, meta });
  const missingBytes = sizeOf(upload.missing, files);
  const sending = createProgress(ctx.out.stderr, 'uploading', new Set(upload.missing).size, missingBytes, showProgress);
  const sent = await uploadMissing(client, upload.missing, files, { concurrency: CONCURRENCY, attempts: ATTEMPTS, progress: sending });
  sending.done();
  const deployment = await client.finalizeUpload(project, upload.id);

  if (options.json) {
    const result: DeployResult = {
      ...deployment,
      upload: { id: upload.id, files: files.length, missing: upload.missing, uploadedBytes: sent.bytes },
    };
    ctx.out.json(result);
  } else {
    ctx.out.line(
      `Deployed ${deployment.id} to ${project}: ${plural(deployment.fileCount, 'file')} (${formatBytes(deployment.totalBytes)}), ` +
        `uploaded ${plural(sent.blobs, 'new blob')} (${formatBytes(sent.bytes)})`,
    );
    ctx.out.line(deployment.url);
  }
  return ExitCode.OK;
};

function sizeOf(digests: readonly string[], files: readonly { sha256: string; size: number }[]): number {
  const sizes = new Map(files.map((f) => [f.sha256, f.size]));
  let total = 0;
  for (const digest of new Set(digests)) total += sizes.get(digest) ?? 0;
  return total;
}
