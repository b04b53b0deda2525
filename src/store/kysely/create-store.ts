import type { Store } from '../store.ts';
import { createBranchStore } from './branches.ts';
import { createBuildStore } from './builds.ts';
import { createCheckStore } from './checks.ts';
import { createCommitStore } from './commits.ts';
import { createDeliveryStore } from './deliveries.ts';
import { createDeploymentStore } from './deployments.ts';
import { createDomainStore } from './domains.ts';
import { createEnvironmentStore } from './environments.ts';
import { createEventStore } from './events.ts';
import type { FamilyContext } from './family-context.ts';
import { createPipelineStore } from './pipeline.ts';
import { createProjectStore } from './projects.ts';
import { createTokenStore } from './tokens.ts';

/**
 * The Store over Kysely, composed of one object per family; the same queries run on SQLite and
 * PostgreSQL. The literal is typed `Store`, so a family left out (or a method a family lacks)
 * fails to compile. A transaction composes the families anew over the transaction's `db`.
 */
export function createStore(ctx: FamilyContext): Store {
  const store: Store = {
    capabilities: ctx.dialect.capabilities,
    transaction: (fn) => (ctx.db.isTransaction ? fn(store) : ctx.db.transaction().execute((db) => fn(createStore({ ...ctx, db })))),
    close: () => ctx.dialect.close(),
    ...createProjectStore(ctx),
    ...createTokenStore(ctx),
    ...createDeploymentStore(ctx),
    ...createEnvironmentStore(ctx),
    ...createDomainStore(ctx),
    ...createBranchStore(ctx),
    ...createBuildStore(ctx),
    ...createDeliveryStore(ctx),
    ...createEventStore(ctx),
    ...createPipelineStore(ctx),
    ...createCheckStore(ctx),
    ...createCommitStore(ctx),
  };
  return store;
}
