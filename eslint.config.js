// Lint with type information: floating promises and misused promises are bugs here.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layers of src/, lowest first; imports go down. Each folder lists what it may import, and
 * an import of any other folder (static, `export … from` or dynamic) fails lint:
 *   core      domain types, glossary, pure planners: nothing, and no node: modules (tests aside)
 *   protocol  wire schemas and the typed client: core
 *   store     Store, its families over Kysely, migrations: core
 *   blobs     content-addressed blob store: core
 *   publish   uploading a deployment's files: core, protocol
 *   runner    builds: core, protocol, publish (it publishes what it built)
 *   edge      serves deployments: core, store, blobs
 *   server    routes, services, webhooks, git: core, protocol, store, blobs, edge, runner
 *             (it serves the edge and may run a runner in process)
 *   agent     the host agent, bundled alone (dist/agent/slipway-agent.js): core, protocol
 *   cli       commands: core, protocol, publish, runner, agent; server only in `slipway server`
 *   web       the dashboard (web/src): core, protocol
 */
const LAYERS = {
  core: [],
  protocol: ['core'],
  store: ['core'],
  blobs: ['core'],
  publish: ['core', 'protocol'],
  runner: ['core', 'protocol', 'publish'],
  edge: ['core', 'store', 'blobs'],
  server: ['core', 'protocol', 'store', 'blobs', 'edge', 'runner'],
  agent: ['core', 'protocol'],
  cli: ['core', 'protocol', 'publish', 'runner', 'agent'],
};

/**
 * Lint rules refusing imports of the layers `folder` may not import. Imports between layers are
 * relative (`../../store/store.ts`, or `../../src/store/…` from web), so a layer is named by the
 * segment after the `../`s; `\x2F` is a slash, which a selector's regex cannot hold.
 */
function onlyImports(folder, allowed, { nodeModules = true, prefix = '' } = {}) {
  const forbidden = Object.keys(LAYERS).filter((layer) => layer !== folder && !allowed.includes(layer));
  const upward = `^(\\.\\.\\x2F)+${prefix}(${forbidden.join('|')})\\x2F`;
  const message = `${folder} ${allowed.length ? `may import only ${allowed.join(', ')}` : 'imports no other folder of src'} (layers in eslint.config.js)`;
  const patterns = [{ regex: upward, message }];
  if (!nodeModules) patterns.push({ regex: '^node:', message: `${folder} is pure: no node: modules (I/O belongs to the layers above it)` });
  return {
    'no-restricted-imports': ['error', { patterns }],
    'no-restricted-syntax': ['error', { selector: `ImportExpression[source.value=/${upward}/]`, message }],
  };
}

export default tseslint.config(
  { ignores: ['node_modules/', 'web/dist/', 'dist/', '.slipway/', 'bin/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test registers describe/test synchronously; their promises are the runner's.
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'test', 'it', 'suite', 'before', 'after'] }] },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-empty': ['error', { allowEmptyCatch: false }],
      // Interface implementations are often async without awaiting anything.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
  ...Object.entries(LAYERS).map(([folder, allowed]) => ({ files: [`src/${folder}/**`], rules: onlyImports(folder, allowed) })),
  { files: ['src/core/**'], ignores: ['src/core/**/*.test.ts'], rules: onlyImports('core', [], { nodeModules: false }) },
  // `slipway server` starts the server in the CLI's process (and loads it only then).
  { files: ['src/cli/commands/server.ts'], rules: onlyImports('cli', [...LAYERS.cli, 'server']) },
  // The CLI starts fast because program.ts loads a command's module only when it runs.
  {
    files: ['src/cli/program.ts', 'src/cli/main.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [{ regex: '^\\./(commands/|context\\.ts$|link\\.ts$|config\\.ts$)', allowTypeImports: true, message: 'load commands when they run: commands(() => import(…)) in program.ts' }],
        },
      ],
    },
  },
  { files: ['web/src/**'], rules: onlyImports('web', ['core', 'protocol'], { nodeModules: false, prefix: 'src\\x2F' }) },
);
