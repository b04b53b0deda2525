import { readFileSync } from 'node:fs';
import { Command as Commander, CommanderError, Option } from 'commander';
import { JOB_STATES, PERSON_ROLES, ROLES } from '../core/glossary.ts';
import { DEFAULT_NOTIFY_EVENTS, NOTIFY_EVENTS, NOTIFY_FORMATS } from '../core/notifications.ts';
import type { Command, Context } from './context.ts';
import { ExitCode } from './exit-codes.ts';

// Each command's module loads when the command runs, never at start: `slipway --version` and
// `slipway status` do not load the server, the uploader or the zod schemas of other commands.
// Add a command here the same way (lint refuses a static import of ./commands/ in this file).
const { agentsEnroll, agentsList, agentsRemove, instances } = commands(() => import('./commands/agents.ts'), 'agentsEnroll', 'agentsList', 'agentsRemove', 'instances');
const { cancelBuild, listBuilds } = commands(() => import('./commands/builds.ts'), 'cancelBuild', 'listBuilds');
const { listChecks, reportCheck } = commands(() => import('./commands/checks.ts'), 'listChecks', 'reportCheck');
const { deliveries } = commands(() => import('./commands/deliveries.ts'), 'deliveries');
const { addDomain, listDomains, removeDomain } = commands(() => import('./commands/domains.ts'), 'addDomain', 'listDomains', 'removeDomain');
const { deploy } = commands(() => import('./commands/deploy.ts'), 'deploy');
const { deployments } = commands(() => import('./commands/deployments.ts'), 'deployments');
const { events } = commands(() => import('./commands/events.ts'), 'events');
const { listJobs, retryJob } = commands(() => import('./commands/jobs.ts'), 'listJobs', 'retryJob');
const { gitRemote } = commands(() => import('./commands/git-remote.ts'), 'gitRemote');
const { link } = commands(() => import('./commands/link.ts'), 'link');
const { configList, configSet, configUnset } = commands(() => import('./commands/config.ts'), 'configList', 'configSet', 'configUnset');
const { freeze, freezes, unfreeze } = commands(() => import('./commands/freezes.ts'), 'freeze', 'freezes', 'unfreeze');
const { hotfixStart } = commands(() => import('./commands/hotfix.ts'), 'hotfixStart');
const { addMember, createUser, listMembers, listUsers, removeMember, setPassword, setUser, showUser } = commands(() => import('./commands/users.ts'), 'addMember', 'createUser', 'listMembers', 'listUsers', 'removeMember', 'setPassword', 'setUser', 'showUser');
const { notifyAdd, notifyDeliveries, notifyList, notifyRemove, notifyTest } = commands(() => import('./commands/notify.ts'), 'notifyAdd', 'notifyDeliveries', 'notifyList', 'notifyRemove', 'notifyTest');
const { lock, unlock } = commands(() => import('./commands/lock.ts'), 'lock', 'unlock');
const { login, whoami } = commands(() => import('./commands/login.ts'), 'login', 'whoami');
const { logs } = commands(() => import('./commands/logs.ts'), 'logs');
const { setProject } = commands(() => import('./commands/project-set.ts'), 'setProject');
const { createProject, listProjects } = commands(() => import('./commands/projects.ts'), 'createProject', 'listProjects');
const { deleteProject } = commands(() => import('./commands/projects-delete.ts'), 'deleteProject');
const { retryBuild } = commands(() => import('./commands/builds-retry.ts'), 'retryBuild');
const { approve } = commands(() => import('./commands/approve.ts'), 'approve');
const { envSet } = commands(() => import('./commands/env-set.ts'), 'envSet');
const { pipeline } = commands(() => import('./commands/pipeline.ts'), 'pipeline');
const { promote } = commands(() => import('./commands/promote.ts'), 'promote');
const { releaseShow } = commands(() => import('./commands/release-show.ts'), 'releaseShow');
const { reject } = commands(() => import('./commands/reject.ts'), 'reject');
const { releases } = commands(() => import('./commands/releases.ts'), 'releases');
const { rollback } = commands(() => import('./commands/rollback.ts'), 'rollback');
const { rollout } = commands(() => import('./commands/rollout.ts'), 'rollout');
const { runner } = commands(() => import('./commands/runner.ts'), 'runner');
const { server } = commands(() => import('./commands/server.ts'), 'server');
const { status } = commands(() => import('./commands/status.ts'), 'status');
const { agent } = commands(() => import('./commands/agent.ts'), 'agent');
const { createToken, listTokens, revokeToken } = commands(() => import('./commands/tokens.ts'), 'createToken', 'listTokens', 'revokeToken');

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * Parses `argv` (without `node` and the script) and runs one command. Returns the exit code;
 * the caller (main.ts) is the only one that exits the process.
 */
export async function run(argv: readonly string[], ctx: Context): Promise<ExitCode> {
  let exitCode: ExitCode = ExitCode.OK;
  // A usage error is found before any option is parsed; `--json` still gets its error as JSON.
  const jsonOutput = wantsJson(argv);
  const program = new Commander('slipway')
    .description('Slipway: immutable deployments, environments as pointers, instant rollback.')
    .version(version)
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => ctx.out.stdout.write(text),
      writeErr: (text) => ctx.out.stderr.write(text),
      outputError: (text, write) => {
        write(text.replace(/\n?$/, ' (USAGE)\n'));
        if (jsonOutput) ctx.out.jsonError('USAGE', text.trim().replace(/^error: /, ''));
      },
    });

  // Every action funnels through here: options of parent commands (a group's --json or
  // --project given before the subcommand) merge into the subcommand's own.
  const action =
    <O>(command: Command<O>, toOptions: (opts: Record<string, unknown>, args: string[]) => O) =>
    async (...params: unknown[]): Promise<void> => {
      const self = params[params.length - 1] as Commander;
      const args = self.processedArgs as string[];
      const options = self.optsWithGlobals();
      // `--project` left out: the directory's link (`.slipway.json`) may name it.
      const usesLink = self.options.some((o) => projectOptions.has(o)) && options.project === undefined && !ctx.env.SLIPWAY_PROJECT;
      const { execute } = await import('./context.ts');
      const context = usesLink ? { ...ctx, link: await (await import('./link.ts')).findLink(ctx.cwd) } : ctx;
      exitCode = await execute(command, toOptions(options, args), context);
    };
  const opts = <O>(command: Command<O>) => action(command, (o) => o as O);
  const withArg = <O>(name: string, command: Command<O>) => action(command, (o, args) => ({ ...o, [name]: args[0] }) as O);

  const json = (): Option => new Option('--json', 'print the API answer as JSON (and errors as {"error":{"code","message"}})');
  const projectOptions = new WeakSet<Option>();
  const project = (): Option => {
    const option = new Option('-p, --project <name>', 'project (default: $SLIPWAY_PROJECT, else the link in .slipway.json)');
    projectOptions.add(option);
    return option;
  };
  const env = (): Option => new Option('-e, --env <environment>', 'environment');

  program
    .command('server')
    .description('run the control plane (API, dashboard and edge) until interrupted')
    .option('--port <port>', 'port to listen on', '7070')
    .option('--host <host>', 'address to bind')
    .option('--data <dir>', 'data directory (SQLite database, blobs)', './.slipway')
    .option('--database-url <url>', 'PostgreSQL URL or SQLite path (default: $SLIPWAY_DATABASE_URL, else SQLite in --data)')
    .option('--base-domain <domain>', 'parent domain of edge URLs (default: localhost)')
    .option(
      '--public-url <url>',
      'URL of the API and dashboard; they answer only on its hostname and on loopback (repeatable; default: the --host address)',
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option('--max-connections <n>', 'open connections at most', '10000')
    .option(
      '--trusted-proxy <ip>',
      'address of a proxy in front of Slipway (TLS termination) whose X-Forwarded-For/Proto/Host services are told (repeatable)',
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option('--log-level <level>', 'log level')
    .option('--unsafe-builds', 'run builds without the bubblewrap sandbox (they can read the data directory and the server\'s environment)')
    .option('--allow-local-repos', 'let projects build from local paths, file:// and loopback or private hosts (tests, single-user setups)')
    .addOption(json())
    .action(opts(server));

  program
    .command('login')
    .description('check a token against a server and save both to the config file (or sign in with email and password for a personal token)')
    .argument('<url>', 'server URL, e.g. http://localhost:7070')
    .option('--token <token>', 'API token (default: $SLIPWAY_TOKEN)')
    .option('--email <email>', 'sign in as this user; the password comes from --password-stdin')
    .option('--password-stdin', 'read the password from standard input')
    .option('--expires <duration>', 'how long the personal token made by --email lives', '90d')
    .addOption(json())
    .action(withArg('url', login));

  program
    .command('link')
    .description('remember the project for this directory (.slipway.json), so --project can be left out here')
    .option('-p, --project <name>', 'project to link this directory to')
    .option('--unlink', 'remove the link in effect here')
    .addOption(json())
    .action(opts(link));

  program.command('whoami').description('show the token in use').addOption(json()).action(opts(whoami));

  const projects = program.command('projects').description('list projects (or: projects create <name>, projects delete <name>)').addOption(json()).action(opts(listProjects));
  projects
    .command('create')
    .description('create a project')
    .argument('<name>')
    .option('--repo <url>', 'external git repository that push webhooks build from')
    .option('--webhook-secret <secret>', 'shared secret that signs its webhook deliveries')
    .addOption(json())
    .action(withArg('name', createProject));
  projects
    .command('set')
    .description("change a project's repository, webhook secret or default branch")
    .argument('<project>')
    .option('--repo <url>', 'new external repository (credentials in it are stored encrypted and never shown)')
    .option('--webhook-secret <secret>', 'new shared secret for webhook signatures')
    .option('--clear-webhook-secret', 'remove the webhook secret')
    .option('--rotate-webhook-secret', 'replace the webhook secret with a new random one made by the server, printed once')
    .option('--default-branch <branch>', "the branch whose slipway.yaml sets environment policy (admin; default main)")
    .addOption(json())
    .action(withArg('name', setProject));
  projects
    .command('delete')
    .description('delete a project (admin): its URLs and domains stop being served, the name is free again')
    .argument('<name>')
    .option('--confirm <name>', "the project's name again (deleting cannot be undone)")
    .addOption(json())
    .action(withArg('name', deleteProject));

  program
    .command('git-remote')
    .description("print the project's git URL (with your token as the password) for git remote add")
    .addOption(project())
    .option('--no-token', 'print the URL without the token')
    .addOption(json())
    .action(opts(gitRemote));

  const builds = program
    .command('builds')
    .description("list a project's builds, newest first (or: builds cancel <id>)")
    .addOption(project())
    .option('--limit <n>', 'how many')
    .addOption(json())
    .action(opts(listBuilds));
  builds
    .command('cancel')
    .description("cancel a build: a queued one at once, a running one by killing its processes")
    .argument('<id>', 'build id (bld-…)')
    .addOption(project())
    .addOption(json())
    .action(withArg('id', cancelBuild));
  builds
    .command('retry')
    .description("build a failed or canceled build's commit again, as a new build")
    .argument('<id>', 'build id (bld-…)')
    .addOption(json())
    .action(withArg('id', retryBuild));

  program
    .command('deliveries')
    .description("list a project's webhook deliveries, newest first: pending, done (with their builds) or failed")
    .addOption(project())
    .option('--limit <n>', 'how many')
    .addOption(json())
    .action(opts(deliveries));

  const checks = program.command('checks').description("report and list a commit's checks (checks report, checks list)");
  checks
    .command('report')
    .description('report a check of a commit: pending, success or failure (the latest report of a name wins)')
    .addOption(project())
    .requiredOption('--commit <sha>', 'commit id (an abbreviation of 7+ digits if Slipway knows the commit)')
    .requiredOption('--name <name>', 'check name, e.g. ci/test')
    .requiredOption('--state <state>', 'pending, success or failure')
    .option('--url <url>', 'where the details are (http or https)')
    .option('--description <text>', 'one line about it')
    .addOption(json())
    .action(opts(reportCheck));
  checks
    .command('list')
    .description("list a commit's checks as they are now (--history: every report, newest first)")
    .addOption(project())
    .requiredOption('--commit <sha>', 'commit id or an abbreviation Slipway knows')
    .option('--history', 'every report instead of the current states')
    .option('--name <name>', 'only this check (implies --history)')
    .option('--limit <n>', 'how many reports (with --history)')
    .addOption(json())
    .action(opts(listChecks));

  program
    .command('logs')
    .description("print a build's log; --follow streams it until the build ends")
    .argument('<build>', 'build id (bld-…)')
    .addOption(project())
    .option('-f, --follow', 'keep printing until the build ends; exit 8 unless it succeeded')
    .option('-t, --timestamps', 'prefix each line with its time (UTC)')
    .addOption(json())
    .action(withArg('build', logs));

  program
    .command('runner')
    .description('run builds for a server on this machine until interrupted')
    .option('--server <url>', 'server URL (default: $SLIPWAY_URL, else the saved login)')
    .option('--token <token>', 'runner token (default: $SLIPWAY_TOKEN, else the saved login)')
    .option('--concurrency <n>', 'builds at once', '1')
    .option('--name <name>', 'how the server knows this runner (default: <hostname>-<pid>)')
    .option('--work-dir <dir>', 'where builds get their temp dirs (default: the OS temp dir)')
    .option('--unsafe-builds', 'run builds without the bubblewrap sandbox, as this user (otherwise: refuse to start without it)')
    .option('--allow-local-repos', 'fetch repositories on local paths, file:// and loopback or private hosts too')
    .action(opts(runner));

  program
    .command('agent')
    .description("run this host's instance of a service: pull its environment's releases into --dir, switch, health-check, report")
    .option('--dir <dir>', 'the agent directory (releases, current, logs, state)')
    .option('--server <url>', 'server URL, for enrolling (default: $SLIPWAY_URL)')
    .option('--token <token>', 'one-time enrollment token (slipway agents enroll); ignored once enrolled')
    .option('--port <n>', "port of this instance (default: the service's port, else 8080)")
    .option('--address <host>', 'where the edge reaches this host (default: its first non-loopback IPv4)')
    .option('--name <name>', 'how the server lists this agent (default: the host name)')
    .option('--keep <n>', "releases kept on disk (default: the server's, 5)")
    .option('--print-systemd', 'print a systemd unit that runs this agent, and exit')
    .action(opts(agent));

  program
    .command('deploy')
    .description('upload a directory as a new immutable deployment and print its URL')
    .argument('<dir>', 'directory to deploy')
    .addOption(project())
    .option('--spa', 'serve index.html for paths that match no file')
    .option('-m, --message <text>', 'note recorded with the deployment')
    .option('--base <deployment>', 'send the manifest as changes against this deployment (default: the last one deployed from this directory)')
    .option('--no-cache', 'hash every file and send the whole manifest unless --base names one (ignore the hash cache)')
    .addOption(json())
    .action(withArg('dir', deploy));

  program
    .command('deployments')
    .description("list a project's deployments, newest first")
    .addOption(project())
    .option('--limit <n>', 'how many')
    .addOption(json())
    .action(opts(deployments));

  program
    .command('status')
    .description('show where each environment points, its pin and lock, and the domains')
    .addOption(project())
    .addOption(env())
    .option('--all', 'also list retired previews (their branch is gone; they serve nothing)')
    .addOption(json())
    .action(opts(status));

  program
    .command('promote')
    .description('propose a deployment for an environment: live at once when its gates pass, waiting otherwise')
    .argument('[deployment]', 'deployment id (dpl-…); or --commit')
    .option('--commit <sha>', 'the deployment that commit built (no rebuild)')
    .addOption(project())
    .addOption(env().makeOptionMandatory())
    .option('--reason <text>', 'why (recorded in the audit log)')
    .option('--expect <vN>', 'fail with RELEASE_CONFLICT unless the current release is vN (v0: none yet)')
    .option('--force', 'admin break-glass past a lock (needs --reason)')
    .addOption(json())
    .action(withArg('deployment', promote));

  program
    .command('rollback')
    .description('point an environment back at an earlier deployment and pin it there')
    .addOption(project())
    .addOption(env().makeOptionMandatory())
    .option('--to <target>', 'deployment id (dpl-…) or release (vN); default: the one live before')
    .option('--reason <text>', 'why (recorded in the audit log)')
    .option('--expect <vN>', 'fail with RELEASE_CONFLICT unless the current release is vN')
    .option('--force', 'admin break-glass past a lock (needs --reason)')
    .addOption(json())
    .action(opts(rollback));

  program
    .command('rollout')
    .description("a service release's rollout: each instance's step, the release phase, why it stopped (--watch: until it ends)")
    .argument('<release>', 'release id (rel-…), or vN with --env')
    .addOption(project())
    .addOption(env())
    .option('--watch', 'print it again on every change until it ends; exit 0 only when it is done (9 when it failed or was rolled back)')
    .option('--abort', 'stop it: switched instances go back to the previous release, the environment is pinned (needs --reason)')
    .option('--reason <text>', 'why it is aborted (recorded in the audit log and the pin)')
    .addOption(json())
    .action(withArg('release', rollout));

  const releasesCommand = program
    .command('releases')
    .description("list an environment's releases (without --env: every environment's), newest first")
    .addOption(project())
    .addOption(env())
    .option('--limit <n>', 'how many')
    .addOption(json())
    .action(opts(releases));
  releasesCommand
    .command('show')
    .description('one release: its state, what its gates say, and the commits it carries with their checks')
    .argument('<release>', 'release id (rel-…), or vN with --env')
    .addOption(project())
    .addOption(env())
    .addOption(json())
    .action(withArg('release', releaseShow));

  program
    .command('approve')
    .description('approve a waiting release, or sign for an author of its batch who has no user (--for email --reason)')
    .argument('<release>', 'release id (rel-…), or vN with --env')
    .addOption(project())
    .addOption(env())
    .option('--reason <text>', 'why (needed with --for)')
    .option('--for <email>', 'sign for this author of the batch, who has no user')
    .addOption(json())
    .action(withArg('release', approve));

  program
    .command('reject')
    .description('reject a waiting release: it fails with the reason')
    .argument('<release>', 'release id (rel-…), or vN with --env')
    .addOption(project())
    .addOption(env())
    .option('--reason <text>', 'why (required)')
    .addOption(json())
    .action(withArg('release', reject));

  program
    .command('pipeline')
    .description('each environment in order: what it runs, what waits to enter it and which gate holds it')
    .addOption(project())
    .addOption(json())
    .action(opts(pipeline));

  program
    .command('env')
    .description('environment policy (env set <environment> …)')
    .command('set')
    .description("set an environment's policy (for projects whose path is not in slipway.yaml); fields not given keep their value")
    .argument('<environment>')
    .addOption(project())
    .option('--follows <branch>', 'move to each successful build of this branch (none: stop)')
    .option('--from <environment>', 'only take deployments that were live there (lineage; none: clear)')
    .option('--auto', 'take each candidate that passes the gates without a person')
    .option('--no-auto', 'only people move it')
    .option('--checks <names>', 'required checks, comma-separated (empty: none)')
    .option('--mode <mode>', 'gate (wait for green) or parallel (go live, roll back on red)')
    .option('--max-commits <n>', 'automation waits for a person when a release carries more commits')
    .option('--requires <projects>', 'projects whose same environment must go first, comma-separated')
    .option('--windows <windows>', 'deploy windows, semicolon-separated, e.g. "Mon-Thu 09:00-16:00 Europe/Berlin;Fri 09:00-12:00 Europe/Berlin" (empty: any time)')
    .option('--soak <duration>', 'how long a deployment must have been live in --from first (10m, 1h; none: no soak)')
    .option('--approvals <n>', 'different people (not an author of the batch, not who promoted it) who must approve (none: no approvals)')
    .option('--approval-roles <roles>', 'who counts: the lowest role listed or above, comma-separated (default approver)')
    .option('--approval-authors <all|none>', 'all: every author of a commit in the batch approves')
    .option('--expedite <allow|hold>', 'allow: hotfixes go live outside the deploy windows; hold (default): windows hold them too')
    .option('--max-unavailable <n|p%>', "a service's instances switching at once: a count or a percentage (default 1)")
    .option('--drain <duration>', 'how long an instance out of rotation gets to finish its requests (default 10s)')
    .option('--health-timeout <duration>', 'how long a switched instance has to become healthy before the rollout goes back (default 60s)')
    .option('--prepare-timeout <duration>', 'how long the agents have to lay a release out before its rollout fails (default 10m)')
    .option('--release-timeout <duration>', 'how long the release phase (migrations) may run before the rollout fails (default 30m)')
    .option('--reset', 'back to no policy (then apply the flags given)')
    .addOption(json())
    .action(withArg('environment', envSet));

  program
    .command('lock')
    .description('hold an environment: promote and rollback fail until it is unlocked')
    .addOption(project())
    .addOption(env().makeOptionMandatory())
    .requiredOption('--reason <text>', 'why (shown to everyone blocked by it)')
    .option('--until <when>', 'a duration (2h, 30m) or an ISO time; default: until unlocked')
    .option('--force', "admin: replace someone else's lock (needs --reason)")
    .addOption(json())
    .action(opts(lock));

  program
    .command('unlock')
    .description('release the lock on an environment')
    .addOption(project())
    .addOption(env().makeOptionMandatory())
    .option('--reason <text>', 'why (recorded in the audit log)')
    .option('--force', "admin: remove someone else's lock (needs --reason)")
    .addOption(json())
    .action(opts(unlock));

  program
    .command('freeze')
    .description('freeze an environment: nothing goes live from --from until --until but an admin\'s forced promotion')
    .addOption(project())
    .addOption(env().makeOptionMandatory())
    .option('--from <time>', 'start, e.g. 2026-12-20T00:00 (default: now)')
    .requiredOption('--until <time>', 'end, e.g. 2027-01-04T00:00; times take an optional offset (Z, +01:00) or IANA zone ("2027-01-04T00:00 Europe/Berlin"), and are UTC without one')
    .requiredOption('--reason <text>', 'why (shown on every release it holds)')
    .addOption(json())
    .action(opts(freeze));

  program
    .command('unfreeze')
    .description("lift a freeze (the environment's only one when no id is given); what it held is looked at again at once")
    .argument('[freeze-id]')
    .addOption(project())
    .addOption(env().makeOptionMandatory())
    .addOption(json())
    .action(withArg('id', unfreeze));

  program
    .command('freezes')
    .description('list freezes that have not ended')
    .addOption(project())
    .addOption(env())
    .addOption(json())
    .action(opts(freezes));

  const agents = program
    .command('agents')
    .description("list a project's agents: where each runs, what, health, rotation (or: agents enroll, agents remove)")
    .addOption(project())
    .addOption(json())
    .action(opts(agentsList));
  agents
    .command('enroll')
    .description('admin: print a one-time token that enrolls one host agent into an environment, and the command to run on the host')
    .addOption(project())
    .addOption(env().makeOptionMandatory())
    .option('--expires <duration>', 'how long the token may be used (default 1h, at most 7d)')
    .addOption(json())
    .action(opts(agentsEnroll));
  agents
    .command('remove')
    .description('admin: remove an agent; it leaves the rotation and its credential stops working')
    .argument('<id>', 'agent id (agt-…)')
    .addOption(project())
    .addOption(json())
    .action(withArg('id', agentsRemove));

  program
    .command('instances')
    .description("where a project's service runs: each instance's address, release, health and whether the edge sends it requests")
    .addOption(project())
    .addOption(env())
    .addOption(json())
    .action(opts(instances));

  const config = program
    .command('config')
    .description("an environment's config vars, handed to its service's instances (or: config set, config unset)")
    .addOption(project())
    .addOption(env())
    .addOption(json())
    .action(opts(configList));
  config
    .command('list')
    .description('keys, who set each when, and a fingerprint of each value (values are never shown)')
    .addOption(project())
    .addOption(env())
    .addOption(json())
    .action(opts(configList));
  config
    .command('set')
    .description('set config vars (admin): KEY=VALUE…, or one KEY --stdin for a secret; a service environment gets a config release')
    .argument('<vars...>', 'KEY=VALUE pairs, or one KEY with --stdin')
    .addOption(project())
    .addOption(env())
    .option('--stdin', "read the one KEY's value from standard input (one trailing newline is dropped), so it stays out of shell history")
    .addOption(json())
    .action(withArg('vars', configSet));
  config
    .command('unset')
    .description('remove config vars (admin); a service environment gets a config release')
    .argument('<keys...>')
    .addOption(project())
    .addOption(env())
    .addOption(json())
    .action(withArg('keys', configUnset));

  const notify = program
    .command('notify')
    .description("list a project's notification targets (or: notify add, notify remove, notify deliveries)")
    .addOption(project())
    .addOption(json())
    .action(opts(notifyList));
  notify
    .command('add')
    .description('POST release state changes to a URL, signed with HMAC-SHA256 (admin); prints the secret once')
    .addOption(project())
    .requiredOption('--url <url>', 'http(s) URL to POST to')
    .option('--events <list>', `comma-separated release events (default: ${DEFAULT_NOTIFY_EVENTS.map((e) => e.replace('release.', '')).join(',')}; any of ${NOTIFY_EVENTS.join(',')})`)
    .addOption(new Option('--format <format>', 'json: Slipway\'s body; slack: a Slack-compatible message').choices(NOTIFY_FORMATS))
    .option('--allow-private', 'admin: the URL may be on loopback or the private network')
    .addOption(json())
    .action(opts(notifyAdd));
  notify.command('list').description("list a project's notification targets").addOption(project()).addOption(json()).action(opts(notifyList));
  notify
    .command('remove')
    .description('remove a notification target (admin); its pending deliveries are canceled')
    .argument('<id>', 'target id')
    .addOption(project())
    .addOption(json())
    .action(withArg('id', notifyRemove));
  notify
    .command('test')
    .description('send a test notification to a target (admin) and wait for its first attempt')
    .argument('<id>', 'target id')
    .addOption(project())
    .option('--wait <seconds>', 'how long to wait for the first attempt (default 15; 0: do not wait)')
    .addOption(json())
    .action(withArg('id', notifyTest));
  notify
    .command('deliveries')
    .description('list notification deliveries, newest first, with their state, attempts and last answer')
    .addOption(project())
    .option('--target <id>', 'only this target')
    .option('--limit <n>', 'how many (default 50, at most 200)')
    .addOption(json())
    .action(opts(notifyDeliveries));

  program
    .command('hotfix')
    .description('hotfixes (hotfix start …): a branch at what production runs, whose builds are expedited')
    .command('start')
    .description("branch hotfix/<name> at the commit production runs (in Slipway's git, or the git commands for an external repository) and say how to push")
    .addOption(project())
    .option('--name <name>', 'the hotfix, as in hotfix/<name> (default: the day and the short commit)')
    .option('-e, --env <environment>', 'start from this environment instead of production')
    .addOption(json())
    .action(opts(hotfixStart));

  program
    .command('events')
    .description('show the audit log, newest first')
    .option('-p, --project <name>', 'only this project')
    .option('-e, --env <environment>', 'only this environment')
    .option('--limit <n>', 'how many (default 50)')
    .option('--before <id>', 'only events older than this id (paging)')
    .addOption(json())
    .action(opts(events));

  const jobs = program
    .command('jobs')
    .description("list the server's background jobs, newest first (admin; or: jobs retry <id>)")
    .addOption(new Option('--state <state>', 'only jobs in this state (dead: failed for good)').choices(JOB_STATES))
    .option('--kind <kind>', 'only jobs of this kind (webhook.deliver, project.purge …)')
    .option('--limit <n>', 'how many (default 50)')
    .option('--before <id>', 'only jobs older than this id (paging)')
    .addOption(json())
    .action(opts(listJobs));
  jobs.command('retry').description('queue a dead job again (admin)').argument('<id>', 'job id').addOption(json()).action(withArg('id', retryJob));

  const tokens = program.command('tokens').description('list API tokens (or: tokens create, tokens revoke)').addOption(json()).action(opts(listTokens));
  tokens
    .command('create')
    .description('create a token and print its secret once')
    .requiredOption('--name <name>', 'who or what uses it')
    .addOption(new Option('--role <role>', "a service token's role (without it: a personal token acting with your own roles)").choices(ROLES.filter((r) => r !== 'agent')))
    .option('--user <name>', "a personal token of this user (admin; default: your own)")
    .option('--project <name>', 'reaches this project only')
    .option('--expires <duration>', 'stops working after this long (90m, 12h, 30d)')
    .addOption(json())
    .action(opts(createToken));
  tokens.command('revoke').description('revoke a token').argument('<id>').addOption(json()).action(withArg('id', revokeToken));

  const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];
  const users = program.command('users').description('list users (or: users create, show, set, password)').addOption(json()).action(opts(listUsers));
  users
    .command('create')
    .description('create a user (admin): commits by their emails are theirs; a password lets them sign in to the dashboard')
    .argument('<name>')
    .option('--email <email>', 'an email their commits carry (repeatable)', collect)
    .addOption(new Option('--role <role>', 'global role, held on every project').choices(PERSON_ROLES).default('viewer'))
    .option('--password-stdin', 'read a password from standard input')
    .addOption(json())
    .action(withArg('name', createUser));
  users.command('show').description('one user, with memberships').argument('<name>').addOption(json()).action(withArg('name', showUser));
  users
    .command('set')
    .description("change a user's global role, emails, or disable them (admin)")
    .argument('<name>')
    .addOption(new Option('--role <role>', 'global role').choices(PERSON_ROLES))
    .option('--add-email <email>', 'repeatable', collect)
    .option('--remove-email <email>', 'repeatable', collect)
    .option('--disable', 'refuse their tokens and end their sessions')
    .option('--enable', 'undo --disable')
    .addOption(json())
    .action(withArg('name', setUser));
  users
    .command('password')
    .description("set a user's password from standard input (admin; or your own: two lines, current then new)")
    .argument('<name>')
    .option('--password-stdin', 'read the password from standard input')
    .addOption(json())
    .action(withArg('name', setPassword));

  const members = program.command('members').description("list a project's members (or: members add, members remove)").addOption(project()).addOption(json()).action(opts(listMembers));
  members
    .command('add')
    .description('give a user a role on the project, or change it (project admin); it adds to their global role')
    .argument('<user>')
    .addOption(project())
    .addOption(new Option('--role <role>', 'role on this project').choices(PERSON_ROLES))
    .addOption(json())
    .action(withArg('user', addMember));
  members.command('remove').description('take a user off the project').argument('<user>').addOption(project()).addOption(json()).action(withArg('user', removeMember));

  const domains = program
    .command('domains')
    .description("list a project's custom domains (or: domains add, domains remove)")
    .addOption(project())
    .addOption(json())
    .action(opts(listDomains));
  domains
    .command('add')
    .description('serve an environment on a hostname')
    .argument('<hostname>')
    .addOption(project())
    .addOption(env().makeOptionMandatory())
    .addOption(json())
    .action(withArg('hostname', addDomain));
  domains
    .command('remove')
    .description('stop serving a hostname')
    .argument('<hostname>')
    .addOption(project())
    .addOption(json())
    .action(withArg('hostname', removeDomain));

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
    throw err;
  }
  return exitCode;
}

/**
 * Commands `names` of the module `load` imports, each loading it on its first call (the module
 * system runs a module once; later calls find it loaded).
 */
function commands<M, K extends keyof M & string>(load: () => Promise<M>, ...names: K[]): Pick<M, K> {
  const out = {} as Pick<M, K>;
  for (const name of names) {
    const command: Command<unknown> = async (options, ctx) => ((await load())[name] as Command<unknown>)(options, ctx);
    out[name] = command as M[K];
  }
  return out;
}

/** Whether `--json` is among the arguments (before a `--` that ends the options). */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}
