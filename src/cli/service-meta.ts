import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ServiceSpec } from '../core/service-spec.ts';
import { CliError } from './context.ts';
import { CliErrorCode } from './exit-codes.ts';

/** slipway.yaml is a few kilobytes; one this large is a mistake, and is not read whole. */
const MAX_CONFIG_BYTES = 256 * 1024;

/**
 * The service a deployed directory declares in its own `slipway.yaml` (`service:`, `release:`,
 * `hooks:`), carried in the deployment's meta so agents know how to run it; undefined when the
 * directory has no slipway.yaml or declares no service. A slipway.yaml that does not parse stops
 * the deploy with its positioned errors: deploying past it would make a service a static site.
 * The YAML parser is loaded only when the file exists (most static sites have none).
 */
export async function serviceMetaOf(root: string): Promise<ServiceSpec | undefined> {
  let text: string;
  try {
    const bytes = await readFile(join(root, 'slipway.yaml'));
    if (bytes.length > MAX_CONFIG_BYTES) throw new CliError(CliErrorCode.CONFIG_INVALID, `slipway.yaml in ${root} is larger than ${MAX_CONFIG_BYTES / 1024} KiB`);
    text = bytes.toString('utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
  const [{ parseSlipwayConfig, formatConfigError }, { serviceSpecOf }] = await Promise.all([import('../core/slipway-config.ts'), import('../core/service-spec.ts')]);
  const parsed = parseSlipwayConfig(text);
  if (!parsed.ok) throw new CliError(CliErrorCode.CONFIG_INVALID, parsed.errors.map((e) => formatConfigError(e, join(root, 'slipway.yaml'))).join('\n'));
  return serviceSpecOf(parsed.config);
}
