import type { Readable } from 'node:stream';
import { z } from 'zod';
import {
  AddDomainRequest,
  BlobStored,
  BuildBase,
  CreateProjectRequest,
  CreateUploadRequest,
  Deployment,
  DeploymentsQuery,
  DeploymentManifest,
  Domain,
  FinalizeUploadRequest,
  Project,
  ProjectStatus,
  RotatedWebhookSecret,
  UpdateProjectRequest,
  Upload,
} from '../../../protocol/api.ts';
import { reaches } from '../../services/access.ts';
import { judgeFor } from '../../services/action-facts.ts';
import { buildBase, createUpload, finalizeUpload, getDeployment, getManifest, listDeployments, putBlob, putBlobs } from '../../services/deployments.ts';
import { blobBatch } from '../blob-batch.ts';
import { prepareDeltaUpload, readUploadRequest } from '../upload-request.ts';
import { addDomain, listDomains, removeDomain } from '../../services/domains.ts';
import { listEnvironments } from '../../services/environments.ts';
import { listUnmergedWarnings } from '../../services/pipeline-view.ts';
import { acceptRepoUrl, createProject, getProject, listProjects, rotateWebhookSecret, updateProject } from '../../services/projects.ts';
import { setDefaultBranch } from '../../services/policies.ts';
import { controlUrl } from '../../../core/urls.ts';
import { leaseOf, type HttpContext, type Params } from '../context.ts';
import { parse } from '../parse.ts';
import { presentDeployment, presentDomain, presentEnvironment, presentProject, withActions } from '../present.ts';
import type { RouteSpec } from '../route.ts';

/** A manifest of 100,000 files is about 15 MB of JSON. */
const UPLOAD_BODY_LIMIT = 64 * 1024 * 1024;

export function projectRoutes({ deps }: HttpContext): RouteSpec[] {
  const urls = deps.urls;
  return [
    {
      method: 'GET',
      url: '/api/v1/projects',
      summary: 'List projects (a project-scoped token sees its own only)',
      response: z.object({ projects: z.array(Project) }),
      handler: async (request, _reply, actor) => ({
        projects: (await listProjects(deps))
          .filter((p) => reaches(actor, p.id))
          .map((p) => withActions(presentProject(urls, p), judgeFor(deps, request.principal, p)?.project())),
      }),
    },
    {
      method: 'POST',
      url: '/api/v1/projects',
      summary: 'Create a project',
      body: CreateProjectRequest,
      response: Project,
      status: 201,
      handler: async (request, _reply, actor) => {
        const body = parse(CreateProjectRequest, request.body);
        return presentProject(urls, await createProject(deps, actor, body));
      },
    },
    {
      method: 'PATCH',
      url: '/api/v1/projects/:project',
      summary: 'Change a project: its repository (credentials in the URL are stored sealed), webhook secret (null removes) or default branch (admin)',
      body: UpdateProjectRequest,
      response: Project,
      handler: async (request, _reply, actor) => {
        const { project } = request.params as Params;
        const { defaultBranch, ...source } = parse(UpdateProjectRequest, request.body);
        // A refused repository changes nothing, the default branch included: it is checked before anything is written.
        if (defaultBranch !== undefined && typeof source.repo === 'string') await acceptRepoUrl(deps, source.repo);
        let row = defaultBranch === undefined ? undefined : await setDefaultBranch(deps, actor, project ?? '', defaultBranch);
        if (source.repo !== undefined || source.webhookSecret !== undefined || row === undefined) row = await updateProject(deps, actor, project ?? '', source);
        return presentProject(urls, row);
      },
    },
    {
      method: 'POST',
      url: '/api/v1/projects/:project/webhook-secret/rotate',
      summary: 'Replace the webhook secret with a new random one, answered this once with the hook URLs to paste it next to; the old one stops verifying at once',
      response: RotatedWebhookSecret,
      handler: async (request, _reply, actor) => {
        const { project: name } = request.params as Params;
        const { project, secret } = await rotateWebhookSecret(deps, actor, name ?? '');
        const base = controlUrl(urls);
        return {
          project: presentProject(urls, project),
          secret,
          hooks: { github: `${base}/hooks/github`, gitlab: `${base}/hooks/gitlab`, generic: `${base}/hooks/generic?project=${encodeURIComponent(project.name)}` },
        };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/projects/:project',
      summary: 'A project with its environments, domains, and warnings (an environment running a commit the default branch lacks)',
      response: ProjectStatus,
      handler: async (request) => {
        const { project: name } = request.params as Params;
        const project = await getProject(deps, name ?? '');
        const now = deps.clock.now();
        const [environments, domains, warnings] = await Promise.all([
          listEnvironments(deps, project.name),
          listDomains(deps, project.name),
          listUnmergedWarnings(deps, project.name),
        ]);
        const judge = judgeFor(deps, request.principal, project);
        const actions = await judge?.environments(environments);
        return {
          project: withActions(presentProject(urls, project), judge?.project()),
          environments: environments.map((e) => withActions(presentEnvironment(urls, project.name, e, now), actions?.get(e.id))),
          domains: domains.map((d) => ({ hostname: d.hostname, environment: d.environment })),
          warnings,
        };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/projects/:project/deployments',
      summary: 'List deployments, newest first (before = the last deployment id of the page above; q = words found in branch, commit, author, message or id)',
      query: DeploymentsQuery,
      response: z.object({ deployments: z.array(Deployment) }),
      handler: async (request) => {
        const { project } = request.params as Params;
        const query = parse(DeploymentsQuery, request.query);
        const rows = await listDeployments(deps, project ?? '', query);
        return { deployments: rows.map((d) => presentDeployment(urls, project ?? '', d)) };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/projects/:project/deployments/:deployment',
      summary: 'One deployment',
      response: Deployment,
      handler: async (request) => {
        const { project, deployment } = request.params as Params;
        return presentDeployment(urls, project ?? '', await getDeployment(deps, project ?? '', deployment ?? ''));
      },
    },
    {
      method: 'GET',
      url: '/api/v1/projects/:project/deployments/:deployment/manifest',
      summary: "One deployment's manifest: every file's path, sha256, size and mode, sorted by path",
      response: DeploymentManifest,
      handler: async (request) => {
        const { project, deployment: id } = request.params as Params;
        const deployment = await getDeployment(deps, project ?? '', id ?? '');
        return { deployment: deployment.id, manifestDigest: deployment.manifestDigest, files: await getManifest(deps, deployment) };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/projects/:project/uploads',
      summary:
        "Start a deployment: send the manifest (`files`), or its differences from an earlier deployment of the project (`delta`), and learn which file bodies the server lacks (a runner: for its build, with Slipway-Lease)",
      body: CreateUploadRequest,
      response: Upload,
      status: 201,
      bodyLimit: UPLOAD_BODY_LIMIT,
      accepts: ['application/json'],
      rawJson: true,
      handler: async (request, _reply, actor) => {
        const { project } = request.params as Params;
        // Parsed and validated off the event loop when large: a 100,000-file manifest takes seconds.
        const limits = deps.limits.manifest;
        const body = await readUploadRequest(request.body as Buffer, limits);
        const input =
          'delta' in body
            ? {
                base: body.delta.base,
                rebuild: (base: Uint8Array) => prepareDeltaUpload(body.delta, base, limits),
                fresh: [...body.delta.added, ...body.delta.changed],
                meta: body.meta,
              }
            : body;
        const { upload, missing, deployment } = await createUpload(deps, actor, project ?? '', input, leaseOf(request), { finalize: body.finalize });
        const answer = { id: upload.id, project: project ?? '', fileCount: upload.fileCount, totalBytes: upload.totalBytes, missing };
        return deployment ? { ...answer, deployment: deployment.id, finalized: presentDeployment(urls, project ?? '', deployment) } : { ...answer, deployment: null };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/runner/builds/:build/base',
      summary:
        "Runner (Slipway-Lease): the latest deployment of the build's project made from the build's branch, with its manifest, for the build's upload to go as a delta against (null: none)",
      response: BuildBase,
      handler: async (request, _reply, actor) => {
        const { build = '' } = request.params as Params;
        const found = await buildBase(deps, actor, build, leaseOf(request));
        return { base: found ? { deployment: found.deployment.id, manifestDigest: found.deployment.manifestDigest, files: found.files } : null };
      },
    },
    {
      method: 'PUT',
      url: '/api/v1/blobs/:digest',
      summary: 'Upload one file body (application/octet-stream); stored only if it hashes to the digest',
      accepts: ['application/octet-stream'],
      response: BlobStored,
      handler: async (request, reply, actor) => {
        const { digest } = request.params as Params;
        const stored = await putBlob(deps, actor, digest ?? '', request.body as Readable, leaseOf(request));
        void reply.status(stored.created ? 201 : 200);
        return { digest, ...stored };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/blobs',
      summary:
        'Upload many small file bodies in one multipart/form-data request, one file part per blob named by its sha256 (at most 1,000 blobs, 64 MB); all are stored or none',
      accepts: ['multipart/form-data'],
      response: z.object({ blobs: z.array(BlobStored) }),
      handler: async (request, reply, actor) => {
        const blobs = await putBlobs(deps, actor, blobBatch(request, deps.limits.maxBlobBytes), leaseOf(request));
        void reply.status(blobs.some((b) => b.created) ? 201 : 200);
        return { blobs };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/projects/:project/uploads/:upload/finalize',
      summary: 'Finish an upload: the deployment appears once every file body is stored (`base`: the deployment a delta was made against, whose files need no second look)',
      body: FinalizeUploadRequest,
      response: Deployment,
      status: 201,
      handler: async (request, _reply, actor) => {
        const { project, upload } = request.params as Params;
        // Clients before `base` send `{}`, or no body at all.
        const { base } = request.body === undefined || request.body === null ? {} : parse(FinalizeUploadRequest, request.body);
        return presentDeployment(urls, project ?? '', await finalizeUpload(deps, actor, project ?? '', upload ?? '', leaseOf(request), { base }));
      },
    },
    {
      method: 'GET',
      url: '/api/v1/projects/:project/domains',
      summary: 'Custom domains of a project',
      response: z.object({ domains: z.array(Domain) }),
      handler: async (request) => {
        const { project } = request.params as Params;
        return { domains: (await listDomains(deps, project ?? '')).map((d) => presentDomain(urls, project ?? '', d)) };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/projects/:project/domains',
      summary: 'Map a custom domain to an environment',
      body: AddDomainRequest,
      response: Domain,
      status: 201,
      handler: async (request, _reply, actor) => {
        const { project } = request.params as Params;
        const body = parse(AddDomainRequest, request.body);
        return presentDomain(urls, project ?? '', await addDomain(deps, actor, project ?? '', body));
      },
    },
    {
      method: 'DELETE',
      url: '/api/v1/projects/:project/domains/:hostname',
      summary: 'Remove a custom domain',
      response: z.object({ removed: z.string() }),
      handler: async (request, _reply, actor) => {
        const { project, hostname } = request.params as Params;
        await removeDomain(deps, actor, project ?? '', hostname ?? '');
        return { removed: hostname };
      },
    },
  ];
}
