import { useCallback, useState } from 'react';
import { DomainsPanel } from '../../components/domains-panel.tsx';
import { ErrorNote } from '../../components/error-note.tsx';
import { Toast } from '../../components/toast.tsx';
import { useSession } from '../../session.ts';
import { useLive } from '../../use-live.ts';
import '../../styles/settings.css';
import { DeleteSection } from './settings/delete-section.tsx';
import { MembersSection } from './settings/members-section.tsx';
import { NotificationsSection } from './settings/notifications-section.tsx';
import { RepositorySection } from './settings/repository-section.tsx';
import { TokensSection } from './settings/tokens-section.tsx';
import { settingsVerdicts } from './settings/verdicts.ts';
import { WebhookSection } from './settings/webhook-section.tsx';

/**
 * The project's settings, one section each: repository, webhook secret, members and roles,
 * notification targets, tokens, custom domains, and deleting the project. Every form says who
 * may use it and is disabled, with the reason, for anyone else; the server's refusal, should it
 * come anyway, is shown with its code.
 */
export function SettingsTab({ project }: { project: string }) {
  const session = useSession();
  const { client } = session;
  const load = useCallback(async () => {
    const [status, domains] = await Promise.all([client.getProjectStatus(project), client.listDomains(project)]);
    return { project: status.project, environments: status.environments.filter((e) => e.retiredAt === null), domains: domains.domains };
  }, [client, project]);
  const poll = useLive(load, { project, topics: ['settings', 'environments'] });
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const closeNotice = useCallback(() => setNotice(undefined), []);
  const data = poll.data;
  const verdicts = settingsVerdicts(data?.project.actions);
  return (
    <div className="settings">
      {poll.error && <ErrorNote error={poll.error} />}
      {data === undefined ? (
        !poll.error && <p className="muted">Loading…</p>
      ) : (
        <>
          <RepositorySection project={data.project} edit={verdicts.edit} setDefaultBranch={verdicts.setDefaultBranch} refresh={poll.refresh} onDone={setNotice} />
          <WebhookSection project={data.project} rotate={verdicts.rotateWebhookSecret} refresh={poll.refresh} onDone={setNotice} />
        </>
      )}
      <MembersSection project={project} manage={verdicts.manageMembers} onDone={setNotice} />
      <NotificationsSection project={project} read={verdicts.readNotifications} manage={verdicts.manageNotifications} onDone={setNotice} />
      <TokensSection project={project} verdicts={{ service: verdicts.createServiceToken, personal: verdicts.createPersonalToken }} onDone={setNotice} />
      <section className="section settings-section" aria-labelledby="domains-title">
        <h2 id="domains-title">Custom domains</h2>
        {data !== undefined && (
          <div className="card">
            <DomainsPanel project={project} domains={data.domains} environments={data.environments} actions={data.project.actions} refresh={poll.refresh} onDone={setNotice} />
          </div>
        )}
      </section>
      <DeleteSection project={project} verdict={verdicts.delete} />
      <Toast message={notice} onClose={closeNotice} />
    </div>
  );
}
