/**
 * Edge addressing (PRODUCT.md, "URLs served by the edge"):
 *   <deployment-id>--<project>.<base>   one deployment, forever
 *   <environment>--<project>.<base>     whatever that environment points at
 *   <project>.<base>                    production
 * plus custom domains, mapped to an environment in the store.
 */

export interface UrlConfig {
  /** Parent domain of edge hosts, `localhost` by default (`*.localhost` resolves to loopback). */
  baseDomain: string;
  scheme: 'http' | 'https';
  /** Port shown in URLs; null when it is the scheme's default. */
  port: number | null;
  /** Base URL of the control plane (API, dashboard, git), e.g. `http://localhost:7070`. */
  controlUrl?: string;
  /** Hostnames the control plane answers on (core/hosts.ts `controlHostnames`); no custom domain may be one. */
  controlHosts?: readonly string[];
}

export const DEPLOYMENT_ID_PREFIX = 'dpl-';
export const PRODUCTION = 'production';

export type EdgeHost =
  | { kind: 'deployment'; project: string; deploymentId: string }
  | { kind: 'environment'; project: string; environment: string }
  | { kind: 'other'; hostname: string };

function origin(config: UrlConfig, host: string): string {
  return `${config.scheme}://${host}${config.port === null ? '' : `:${config.port}`}/`;
}

export function deploymentUrl(config: UrlConfig, project: string, deploymentId: string): string {
  return origin(config, `${deploymentId}--${project}.${config.baseDomain}`);
}

export function environmentUrl(config: UrlConfig, project: string, environment: string): string {
  return origin(config, environment === PRODUCTION ? `${project}.${config.baseDomain}` : `${environment}--${project}.${config.baseDomain}`);
}

export function domainUrl(config: UrlConfig, hostname: string): string {
  return origin(config, hostname);
}

export function controlUrl(config: UrlConfig): string {
  return config.controlUrl ?? `${config.scheme}://localhost${config.port === null ? '' : `:${config.port}`}`;
}

/** A build's log on the dashboard (its hash route, web/src/route.ts `buildHref`). */
export function buildPageUrl(config: UrlConfig, project: string, buildId: string): string {
  return `${controlUrl(config)}/#/projects/${encodeURIComponent(project)}/builds/${encodeURIComponent(buildId)}`;
}

export function gitUrl(config: UrlConfig, project: string): string {
  return `${controlUrl(config)}/git/${project}.git`;
}

/** `feature/Blue` → `preview-feature-blue`: lowercase, each run of other characters a dash, at most 40 characters. */
export function previewEnvironmentName(branch: string): string {
  const slug = branch.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return `preview-${slug || 'branch'}`.slice(0, 40).replace(/-+$/, '');
}

export function isDeploymentId(label: string): boolean {
  return label.startsWith(DEPLOYMENT_ID_PREFIX);
}

/** Classifies a Host header. Hosts outside `*.<base>` come back as `other` (a custom domain or the control plane). */
export function parseEdgeHost(hostHeader: string, baseDomain: string): EdgeHost {
  let host = hostHeader.toLowerCase();
  if (host.startsWith('[')) {
    host = host.slice(0, host.indexOf(']') + 1);
  } else {
    const colon = host.lastIndexOf(':');
    if (colon !== -1) host = host.slice(0, colon);
  }
  if (host.endsWith('.')) host = host.slice(0, -1);
  const suffix = `.${baseDomain}`;
  if (!host.endsWith(suffix)) return { kind: 'other', hostname: host };
  const label = host.slice(0, -suffix.length);
  if (label.includes('.') || label === '') return { kind: 'other', hostname: host };
  const parts = label.split('--');
  if (parts.length === 1) return { kind: 'environment', project: label, environment: PRODUCTION };
  const [left, project] = parts;
  if (parts.length !== 2 || !left || !project) return { kind: 'other', hostname: host };
  return isDeploymentId(left) ? { kind: 'deployment', project, deploymentId: left } : { kind: 'environment', project, environment: left };
}
