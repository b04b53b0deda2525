import type { Store } from '../store.ts';
import { createAgentStore } from './agents.ts';
import { createApprovalStore } from './approvals.ts';
import { createBranchStore } from './branches.ts';
import { createBuildStore } from './builds.ts';
import { createCheckStore } from './checks.ts';
import { createCommitStore } from './commits.ts';
import { createConfigStore } from './config.ts';
import { createDeliveryStore } from './deliveries.ts';
import { createDeploymentStore } from './deployments.ts';
import { createDomainStore } from './domains.ts';
import { createEnvironmentStore } from './environments.ts';
import { createEventStore } from './events.ts';
import type { FamilyContext } from './family-context.ts';
import { createFreezeStore } from './freezes.ts';
import { createNotificationStore } from './notifications.ts';
import { createJobStore } from './jobs.ts';
import { createPipelineStore } from './pipeline.ts';
import { createProjectStore } from './projects.ts';
import { createTokenStore } from './tokens.ts';
import { createUserStore } from './users.ts';

/**
 * The Store over Kysely, composed of one object per family; the same queries run on SQLite and
 * PostgreSQL. The literal is typed `Store`, so a family left out (or a method a family lacks)
 * fails to compile. A transaction composes the families anew over the transaction's `db`, and
 * runs what they asked to run after its commit once it has committed.
 */
export function createStore(fields: Pick<FamilyContext, 'db' | 'dialect' | 'secrets'> & Partial<FamilyContext>): Store {
  // Outside a transaction, what waits for a commit runs at once: every statement commits by itself.
  const ctx: FamilyContext = { afterCommit: (fn) => fn(), jobsEnqueued: new Set(), agentsChanged: new Set(), eventsAppended: new Set(), ...fields };
  const store: Store = {
    capabilities: ctx.dialect.capabilities,
    transaction: async (fn) => {
      if (ctx.db.isTransaction) return fn(store);
      const committed: (() => void)[] = [];
      const result = await ctx.db.transaction().execute((db) => fn(createStore({ ...ctx, db, afterCommit: (hook) => void committed.push(hook) })));
      for (const hook of committed) hook();
      return result;
    },
    close: () => ctx.dialect.close(),
    ...createProjectStore(ctx),
    ...createTokenStore(ctx),
    ...createUserStore(ctx),
    ...createDeploymentStore(ctx),
    ...createEnvironmentStore(ctx),
    ...createDomainStore(ctx),
    ...createBranchStore(ctx),
    ...createBuildStore(ctx),
    ...createDeliveryStore(ctx),
    ...createEventStore(ctx),
    ...createJobStore(ctx),
    ...createPipelineStore(ctx),
    ...createCheckStore(ctx),
    ...createCommitStore(ctx),
    ...createFreezeStore(ctx),
    ...createNotificationStore(ctx),
    ...createApprovalStore(ctx),
    ...createConfigStore(ctx),
    ...createAgentStore(ctx),
  };
  return store;
}
